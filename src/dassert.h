/*
 * Debug assertions: DASSERT(x) checks an invariant in the debug builds
 * (asan, unit: -DIMAPEXEC_DEBUG) and compiles to nothing in release.
 */
#ifndef IMAPEXEC_DASSERT_H
#define IMAPEXEC_DASSERT_H

#ifdef IMAPEXEC_DEBUG
#include <assert.h>
#define DASSERT(x)	assert(x)
#else
#define DASSERT(x)	((void)0)
#endif

#endif /* !IMAPEXEC_DASSERT_H */
