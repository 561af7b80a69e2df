package warmup

// CauseLost is the cause of an item whose key a Redis restart or
// failover lost: the monitor tells its rewrites from other retries by it.
const CauseLost = causeLost
