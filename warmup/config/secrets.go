package config

import "github.com/cachewarm/cachewarm/internal/redact"

// Redactor removes a config's secrets from whatever is shown; it is
// redact.Redactor, the one redactor every output goes through.
type Redactor = redact.Redactor
