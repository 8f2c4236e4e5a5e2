package rooms

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
)

// bloom is a Bloom filter over idempotency keys (AppliedKey). Its hash is
// fixed (FNV-1a 64 with a SplitMix64 finalizer, double hashing), because a
// filter one hub stores is read by every other: the encoding is a format.
//
// m is a multiple of foldAlign bits, so the filter can be folded (halved,
// OR-ing the two halves) at least foldMax times: it then answers exactly the
// same "no"s for the keys it holds, with more false "maybe"s, in half the
// memory. Probing takes (h1 + i*h2) mod m, and since m/2 divides m, a
// folded filter is probed the same way with its own m.
type bloom struct {
	k    uint32 // probes per key
	m    uint64 // bits
	bits []byte // m/8 bytes, bit j in bits[j/8] at 1<<(j%8): the stored layout
}

const (
	bloomFormat = 1
	bloomHeader = 1 + 1 + 8 // format, k, m
	foldMax     = 6
	foldAlign   = 64 << foldMax // bits: m/2^foldMax stays whole words
)

// keyHash is the two 64-bit hashes of a key that every probe derives from.
type keyHash struct{ h1, h2 uint64 }

func hashKey(key string) keyHash {
	const offset64, prime64 = 14695981039346656037, 1099511628211
	h := uint64(offset64)
	for i := 0; i < len(key); i++ {
		h ^= uint64(key[i])
		h *= prime64
	}
	return keyHash{h1: mix64(h), h2: mix64(h^0x9e3779b97f4a7c15) | 1}
}

// mix64 is SplitMix64's finalizer: every input bit moves every output bit.
func mix64(z uint64) uint64 {
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// newBloom sizes a filter for n keys at false-positive rate p.
func newBloom(n int64, p float64) *bloom {
	if n < 1 {
		n = 1
	}
	bits := math.Ceil(-float64(n) * math.Log(p) / (math.Ln2 * math.Ln2))
	m := (uint64(bits) + foldAlign - 1) / foldAlign * foldAlign
	k := uint32(math.Round(float64(m) / float64(n) * math.Ln2))
	k = min(max(k, 1), 16)
	return &bloom{k: k, m: m, bits: make([]byte, m/8)}
}

func (b *bloom) add(h keyHash) {
	x := h.h1
	for i := uint32(0); i < b.k; i++ {
		j := x % b.m
		b.bits[j/8] |= 1 << (j % 8)
		x += h.h2
	}
}

// mayContain reports false only for a key never added.
func (b *bloom) mayContain(h keyHash) bool {
	x := h.h1
	for i := uint32(0); i < b.k; i++ {
		j := x % b.m
		if b.bits[j/8]&(1<<(j%8)) == 0 {
			return false
		}
		x += h.h2
	}
	return true
}

// canFold reports whether the filter can be halved again.
func (b *bloom) canFold() bool { return b.m%(2*64) == 0 && b.m/2 >= 64 }

// fold halves the filter: bit j of the result is bit j or bit j+m/2.
func (b *bloom) fold() {
	half := len(b.bits) / 2
	out := make([]byte, half) // a new array, so the old one is freed
	for j := range out {
		out[j] = b.bits[j] | b.bits[j+half]
	}
	b.bits, b.m = out, b.m/2
}

// bytes is the filter's size in memory.
func (b *bloom) bytes() int { return len(b.bits) }

// encode is the stored form: format, k, m (little-endian), the bits.
func (b *bloom) encode() []byte {
	out := make([]byte, bloomHeader+len(b.bits))
	out[0], out[1] = bloomFormat, byte(b.k)
	binary.LittleEndian.PutUint64(out[2:], b.m)
	copy(out[bloomHeader:], b.bits)
	return out
}

var errBloomFormat = errors.New("not a filter this hub can read")

// decodeBloom reads a stored filter. It keeps p's bits, without copying
// them: p becomes the filter's (AppliedStore.Summaries hands over what it
// returns).
func decodeBloom(p []byte) (*bloom, error) {
	if len(p) < bloomHeader || p[0] != bloomFormat {
		return nil, errBloomFormat
	}
	b := &bloom{k: uint32(p[1]), m: binary.LittleEndian.Uint64(p[2:])}
	if b.k < 1 || b.k > 16 || b.m == 0 || b.m%64 != 0 || uint64(len(p)-bloomHeader) != b.m/8 {
		return nil, fmt.Errorf("%w: k=%d m=%d in %d bytes", errBloomFormat, b.k, b.m, len(p))
	}
	b.bits = p[bloomHeader:]
	return b, nil
}
