/*
 * Helpers shared by the fuzz targets: a failed invariant aborts with a
 * message (libFuzzer and the standalone driver both report the input),
 * and a small PRNG turns a seed from the input into a split schedule.
 */
#ifndef IMAPEXEC_FUZZ_H
#define IMAPEXEC_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define CHECK(cond, ...) do {						\
	if (!(cond)) {							\
		fprintf(stderr, "%s:%d: invariant failed: %s: ",	\
		    __FILE__, __LINE__, #cond);				\
		fprintf(stderr, __VA_ARGS__);				\
		fputc('\n', stderr);					\
		abort();						\
	}								\
} while (0)

/* A split schedule: chunk sizes from a xorshift PRNG, or fixed. */
struct sched {
	uint32_t	s;
	size_t		fixed;		/* nonzero: always this size */
	size_t		max;		/* random sizes are 1..max */
};

static inline size_t
sched_next(struct sched *sc)
{
	if (sc->fixed)
		return (sc->fixed);
	sc->s ^= sc->s << 13;
	sc->s ^= sc->s >> 17;
	sc->s ^= sc->s << 5;
	/* Mostly small pieces, now and then a big one. */
	if ((sc->s & 7) == 0)
		return (1 + (sc->s >> 8) % 4096);
	return (1 + (sc->s >> 8) % sc->max);
}

static inline void
sched_init(struct sched *sc, uint32_t seed, size_t fixed, size_t max)
{
	sc->s = seed ? seed : 0x9e3779b9u;
	sc->fixed = fixed;
	sc->max = max ? max : 1;
}

static inline uint32_t
rd32(const uint8_t *p)
{
	return ((uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 24);
}

#endif /* !IMAPEXEC_FUZZ_H */
