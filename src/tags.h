/*
 * The commands sent to the backend that it has not completed yet, kept as
 * a bounded FIFO of tag hashes.  Pure: no I/O, no allocation.
 */
#ifndef IMAPEXEC_TAGS_H
#define IMAPEXEC_TAGS_H

#include <stddef.h>
#include <stdint.h>

/* How many commands may be outstanding before the client is held. */
#define TAGS_MAX	128

struct tags {
	uint64_t	hash[TAGS_MAX];
	uint8_t		kind[TAGS_MAX];
	size_t		head;		/* index of the oldest entry */
	size_t		count;
};

/*
 * tag_hash_init():
 * Return the hash of the empty tag, to be extended with tag_hash_add().
 */
uint64_t tag_hash_init(void);

/*
 * tag_hash_add(h, p, n):
 * Return hash ${h} extended with the ${n} bytes at ${p}.
 */
uint64_t tag_hash_add(uint64_t, const uint8_t *, size_t);

/*
 * tags_push(t, hash, kind):
 * Record a command with tag ${hash} and command kind ${kind} as sent.
 * Return 0, or -1 if ${t} is full.
 */
int	tags_push(struct tags *, uint64_t, uint8_t);

/*
 * tags_count(t, hash):
 * Return how many outstanding commands carry tag ${hash}.
 */
size_t	tags_count(const struct tags *, uint64_t);

/*
 * tags_first(t, hash, kind):
 * Store the kind of the oldest outstanding command with tag ${hash} in
 * ${kind}.  Return 0, or -1 if there is none.
 */
int	tags_first(const struct tags *, uint64_t, uint8_t *);

/*
 * tags_pop(t, hash, kind):
 * Remove the oldest outstanding command with tag ${hash} and store its
 * kind in ${kind}.  Return 0, or -1 if there is none.
 */
int	tags_pop(struct tags *, uint64_t, uint8_t *);

#endif /* !IMAPEXEC_TAGS_H */
