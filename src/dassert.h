/*
 * DASSERT(x): check an invariant in debug builds (the sanitizer and unit
 * builds define IMAPEXEC_DEBUG); nothing in release builds.
 */
#ifndef IMAPEXEC_DASSERT_H
#define IMAPEXEC_DASSERT_H

#ifdef IMAPEXEC_DEBUG
#include <stdio.h>
#include <stdlib.h>
#define DASSERT(x) do {							\
	if (!(x)) {							\
		fprintf(stderr, "%s:%d: invariant failed: %s\n",	\
		    __FILE__, __LINE__, #x);				\
		abort();						\
	}								\
} while (0)
#else
#define DASSERT(x) do { } while (0)
#endif

#endif /* !IMAPEXEC_DASSERT_H */
