package rediswrite

import (
	"errors"
	"strconv"
	"strings"
)

// Slot is the Redis Cluster hash slot of key, as Redis defines it: the
// CRC16 (XMODEM) of the key's hash tag, the text between the first "{"
// and the next "}" when that is not empty, else of the whole key, modulo
// 16384.
func Slot(key string) int {
	if i := strings.IndexByte(key, '{'); i >= 0 {
		if j := strings.IndexByte(key[i+1:], '}'); j > 0 {
			key = key[i+1 : i+1+j]
		}
	}
	var crc uint16
	for k := 0; k < len(key); k++ {
		crc ^= uint16(key[k]) << 8
		for range 8 {
			if crc&0x8000 != 0 {
				crc = crc<<1 ^ 0x1021
			} else {
				crc <<= 1
			}
		}
	}
	return int(crc) % 16384
}

// slotError is a write's error that names the cluster slot its key hashes
// to: the fix for a slot no master serves is on that slot.
type slotError struct {
	err  error
	slot int
}

func (e *slotError) Error() string { return e.err.Error() + " (slot " + strconv.Itoa(e.slot) + ")" }
func (e *slotError) Unwrap() error { return e.err }

// isUnservedSlot says whether err is a cluster's reply for a slot no
// master owns.
func isUnservedSlot(err error) bool {
	return err != nil && strings.Contains(err.Error(), "Hash slot not served")
}

// withSlot adds key's slot to an error that is about its slot.
func withSlot(err error, key string) error {
	if !isUnservedSlot(err) {
		return err
	}
	// Declared here, not above: errors.As takes its address, which
	// would allocate it on every call, successes included.
	var se *slotError
	if !errors.As(err, &se) {
		return &slotError{err: err, slot: Slot(key)}
	}
	return err
}
