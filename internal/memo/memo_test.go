package memo

import (
	"sync"
	"testing"
)

// TestGetPut: what is put is got back, with hits and misses counted.
func TestGetPut(t *testing.T) {
	c := New[string, int](10)
	if _, ok := c.Get("a"); ok {
		t.Fatal("empty cache hit")
	}
	c.Put("a", 1)
	if v, ok := c.Get("a"); !ok || v != 1 {
		t.Fatalf("got %d %v", v, ok)
	}
	c.Put("a", 2)
	if v, _ := c.Get("a"); v != 2 {
		t.Fatalf("after overwrite: %d", v)
	}
	if h, m := c.Stats(); h != 2 || m != 1 {
		t.Fatalf("stats %d hits %d misses, want 2 1", h, m)
	}
}

// TestBounded: the cache never holds more than about max entries; the
// newest ones stay, and an old entry that is read again is kept.
func TestBounded(t *testing.T) {
	const max = 100
	c := New[int, int](max)
	c.Put(-1, -1)
	for i := 0; i < 10*max; i++ {
		c.Put(i, i)
		c.Get(-1) // keeps -1 alive across generations
		if n := len(c.cur) + len(c.old); n > max+1 {
			t.Fatalf("%d entries after %d puts, max %d", n, i+1, max)
		}
	}
	for i := 10*max - max/2 + 1; i < 10*max; i++ {
		if v, ok := c.Get(i); !ok || v != i {
			t.Fatalf("recent entry %d lost", i)
		}
	}
	if _, ok := c.Get(0); ok {
		t.Fatal("the oldest entry is still there")
	}
	if _, ok := c.Get(-1); !ok {
		t.Fatal("an entry read every generation was dropped")
	}
}

// TestDelete forgets an entry in either generation.
func TestDelete(t *testing.T) {
	c := New[int, string](4)
	c.Put(1, "one")
	c.Put(2, "two")
	c.Put(3, "three") // 1 and 2 move to the old generation
	c.Delete(1)
	c.Delete(3)
	for _, k := range []int{1, 3} {
		if _, ok := c.Get(k); ok {
			t.Fatalf("%d still there after Delete", k)
		}
	}
	if _, ok := c.Get(2); !ok {
		t.Fatal("Delete took another entry")
	}
}

// TestTinyMax: a max below 2 still caches.
func TestTinyMax(t *testing.T) {
	c := New[int, int](0)
	c.Put(1, 1)
	if _, ok := c.Get(1); !ok {
		t.Fatal("nothing cached")
	}
}

// TestConcurrent: the cache is safe for concurrent use (run with -race;
// without it, an unlocked map still fails with "concurrent map writes"), it
// stays bounded, and every Get is counted once.
func TestConcurrent(t *testing.T) {
	const goroutines, rounds, max = 4, 1000, 64
	c := New[int, int](max)
	var wg sync.WaitGroup
	for g := 0; g < goroutines; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < rounds; i++ {
				k := (i * (g + 1)) % 200
				c.Put(k, k)
				if v, ok := c.Get(k); ok && v != k {
					t.Errorf("key %d holds %d", k, v)
				}
				if i%7 == 0 {
					c.Delete(k)
				}
				c.Stats()
			}
		}(g)
	}
	wg.Wait()
	if h, m := c.Stats(); h+m != goroutines*rounds {
		t.Errorf("%d hits + %d misses, want %d Gets counted", h, m, goroutines*rounds)
	}
	if n := len(c.cur) + len(c.old); n > max {
		t.Errorf("%d entries after concurrent use, max %d", n, max)
	}
}
