/*
 * DASSERT(x): check invariant ${x} in debug builds (the asan and unit
 * builds define IMAPEXEC_DEBUG); nothing in release builds.
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
