/*
 * The commands sent to the backend that it has not completed yet.
 *
 * Tags are kept as 64-bit FNV-1a hashes so that a tag of any length costs
 * eight bytes.  A collision can only make two tags look alike, which the
 * scanner treats like a client that reuses a tag: it fails closed (no own
 * command acts on that connection any more).  The probe's answer is told
 * apart by its full tag, never by a hash.
 */
#include <string.h>

#include "tags.h"

#define FNV_OFFSET	0xcbf29ce484222325ULL
#define FNV_PRIME	0x100000001b3ULL

/*
 * tag_hash_init():
 * Return the hash of the empty tag, to be extended with tag_hash_add().
 */
uint64_t
tag_hash_init(void)
{
	return (FNV_OFFSET);
}

/*
 * tag_hash_add(h, p, n):
 * Return hash ${h} extended with the ${n} bytes at ${p}.
 */
uint64_t
tag_hash_add(uint64_t h, const uint8_t *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		h ^= p[i];
		h *= FNV_PRIME;
	}
	return (h);
}

/*
 * tags_push(t, hash, kind):
 * Record a command with tag ${hash} and command kind ${kind} as sent.
 * Return 0, or -1 if ${t} is full.
 */
int
tags_push(struct tags *t, uint64_t hash, uint8_t kind)
{
	size_t i;

	if (t->count == TAGS_MAX)
		return (-1);
	i = (t->head + t->count) % TAGS_MAX;
	t->hash[i] = hash;
	t->kind[i] = kind;
	t->count++;
	return (0);
}

/*
 * tags_count(t, hash):
 * Return how many outstanding commands carry tag ${hash}.
 */
size_t
tags_count(const struct tags *t, uint64_t hash)
{
	size_t i, n = 0;

	for (i = 0; i < t->count; i++)
		if (t->hash[(t->head + i) % TAGS_MAX] == hash)
			n++;
	return (n);
}

/*
 * tags_first(t, hash, kind):
 * Store the kind of the oldest outstanding command with tag ${hash} in
 * ${kind}.  Return 0, or -1 if there is none.
 */
int
tags_first(const struct tags *t, uint64_t hash, uint8_t *kind)
{
	size_t i, j;

	for (i = 0; i < t->count; i++) {
		j = (t->head + i) % TAGS_MAX;
		if (t->hash[j] == hash) {
			*kind = t->kind[j];
			return (0);
		}
	}
	return (-1);
}

/*
 * tags_pop(t, hash, kind):
 * Remove the oldest outstanding command with tag ${hash} and store its
 * kind in ${kind}.  Return 0, or -1 if there is none.
 */
int
tags_pop(struct tags *t, uint64_t hash, uint8_t *kind)
{
	size_t i, j, k;

	for (i = 0; i < t->count; i++) {
		j = (t->head + i) % TAGS_MAX;
		if (t->hash[j] != hash)
			continue;
		*kind = t->kind[j];
		/* Close the gap: move the newer entries down by one. */
		for (; i + 1 < t->count; i++) {
			j = (t->head + i) % TAGS_MAX;
			k = (t->head + i + 1) % TAGS_MAX;
			t->hash[j] = t->hash[k];
			t->kind[j] = t->kind[k];
		}
		t->count--;
		return (0);
	}
	return (-1);
}
