// Package memo is a bounded cache of pure results. Whatever it holds could be
// recomputed with the same answer, so it never affects consensus. When full
// it forgets its older half (two generations), which keeps it simple and its
// memory bounded.
package memo

import "sync"

// Cache maps keys to values, holding at most about max entries.
type Cache[K comparable, V any] struct {
	mu           sync.Mutex
	max          int
	cur, old     map[K]V
	hits, misses uint64
}

// New makes a cache of at most max entries (at least 2).
func New[K comparable, V any](max int) *Cache[K, V] {
	if max < 2 {
		max = 2
	}
	return &Cache[K, V]{max: max, cur: make(map[K]V)}
}

// Get returns the value of k and whether it was there.
func (c *Cache[K, V]) Get(k K) (V, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if v, ok := c.cur[k]; ok {
		c.hits++
		return v, true
	}
	if v, ok := c.old[k]; ok {
		c.hits++
		c.putLocked(k, v)
		return v, true
	}
	c.misses++
	var zero V
	return zero, false
}

// Put stores v under k.
func (c *Cache[K, V]) Put(k K, v V) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.putLocked(k, v)
}

func (c *Cache[K, V]) putLocked(k K, v V) {
	if len(c.cur) >= c.max/2 {
		c.old, c.cur = c.cur, make(map[K]V)
	}
	c.cur[k] = v
}

// Delete forgets k.
func (c *Cache[K, V]) Delete(k K) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.cur, k)
	delete(c.old, k)
}

// Stats reports hits and misses so far.
func (c *Cache[K, V]) Stats() (hits, misses uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.hits, c.misses
}
