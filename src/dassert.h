/*
 * Debug assertions: DASSERT(x) aborts with a message when ${x} is false in
 * debug builds (IMAPEXEC_DEBUG: the ASan and unit builds), and costs
 * nothing in release builds, where ${x} is not evaluated.
 */
#ifndef IMAPEXEC_DASSERT_H
#define IMAPEXEC_DASSERT_H

#ifdef IMAPEXEC_DEBUG
#include <stdio.h>
#include <stdlib.h>

#define DASSERT(x) do {							\
	if (!(x)) {							\
		fprintf(stderr, "%s:%d: %s: assertion failed: %s\n",	\
		    __FILE__, __LINE__, __func__, #x);			\
		abort();						\
	}								\
} while (0)
#else
#define DASSERT(x) ((void)(0 && (x)))
#endif

#endif /* !IMAPEXEC_DASSERT_H */
