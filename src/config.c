/*
 * The configuration file (libconfig syntax).  Everything is checked when
 * the file is read, so that "imapexec -t" finds every mistake an EXECUTE
 * would otherwise find later.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <libconfig.h>
#include <libgen.h>
#include <limits.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "dassert.h"
#include "util.h"
#include "xcmd.h"

#ifndef DEFAULT_BACKEND
#define DEFAULT_BACKEND	"/usr/lib/dovecot/imap"
#endif
#define DEFAULT_PATH	"/usr/local/bin:/usr/bin:/bin"

/* Per-service defaults; a "defaults" group in the file overrides them. */
#define DEF_TIMEOUT	300
#define DEF_IDLE	60
#define DEF_OUTPUT	(16ULL << 20)
#define DEF_INPUT	(16ULL << 20)
#define DEF_PROBE	10	/* seconds: a NOOP at a boundary takes ms */

/* The most arguments one EXECUTE carries: its tokens less the name. */
#define ARGS_CAP	(XCMD_ARGS - 1)

/*
 * The settings each group may hold; any other name is a mistake (a
 * misspelt "rlimits" or "pattern" would otherwise drop a limit silently).
 */
static const char *const root_keys[] = {
	"backend", "backend_env", "user", "path", "compress",
	"probe_timeout", "defaults", "services", NULL
};
static const char *const limit_keys[] = {
	"interactive", "dash_args", "timeout", "idle_timeout", "max_output",
	"max_input", "eol", "stderr", "rlimits", NULL
};
static const char *const service_keys[] = {
	"name", "description", "exec", "connect", "env", "users", "groups",
	"args", NULL
};
static const char *const args_keys[] = { "min", "max", "pattern", NULL };
static const char *const rl_keys[RL_COUNT + 1] = {
	"cpu", "memory", "nofile", "nproc", "fsize", NULL
};

/* Where a setting error is reported. */
struct cerr {
	const char	*file;
	char		*buf;
	size_t		 len;
	const char	*dir;		/* where a relative @include is read */
};

/*
 * src_name(e, src, buf, len):
 * Return the name to report for a mistake read from ${src}, as libconfig
 * names it (NULL for the file itself, an @include'd name as written):
 * ${e}->file, ${src}, or ${src} in ${e}->dir, formatted into ${buf} of
 * ${len} bytes.
 */
static const char *
src_name(const struct cerr *e, const char *src, char *buf, size_t len)
{
	if (src == NULL)
		return (e->file);
	if (src[0] == '/' || e->dir == NULL)
		return (src);
	(void)snprintf(buf, len, "%s/%s", e->dir, src);
	return (buf);
}

/*
 * fail(e, s, fmt, ...):
 * Format "file:line: message" for setting ${s} (or the file if NULL) into
 * ${e}; the file is the one ${s} was read from (an @include'd one, say).
 * Return -1.
 */
static int __attribute__((format(printf, 3, 4)))
fail(struct cerr *e, const config_setting_t *s, const char *fmt, ...)
{
	char msg[512], name[PATH_MAX];
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (s != NULL)
		(void)snprintf(e->buf, e->len, "%s:%d: %s", src_name(e,
		    config_setting_source_file(s), name, sizeof(name)),
		    config_setting_source_line(s), msg);
	else
		(void)snprintf(e->buf, e->len, "%s: %s", e->file, msg);
	return (-1);
}

/*
 * known(name, k1, k2):
 * Return whether ${name} is in the NULL-terminated list ${k1}, or in
 * ${k2} if that is not NULL.
 */
static int
known(const char *name, const char *const *k1, const char *const *k2)
{
	size_t i;

	for (i = 0; k1[i] != NULL; i++)
		if (strcmp(name, k1[i]) == 0)
			return (1);
	return (k2 != NULL && known(name, k2, NULL));
}

/*
 * check_keys(e, g, ctx, k1, k2):
 * Refuse a member of group ${g} whose name is in neither ${k1} nor ${k2}
 * (NULL-terminated; ${k2} may be NULL), reporting it after the prefix
 * ${ctx}.  Return 0 or -1.
 */
static int
check_keys(struct cerr *e, const config_setting_t *g, const char *ctx,
    const char *const *k1, const char *const *k2)
{
	config_setting_t *m;
	const char *name;
	int i, n;

	DASSERT(config_setting_is_group(g));
	n = config_setting_length(g);
	for (i = 0; i < n; i++) {
		m = config_setting_get_elem(g, (unsigned int)i);
		name = config_setting_name(m);
		if (name != NULL && !known(name, k1, k2))
			return (fail(e, m, "%sunknown setting \"%s\"", ctx,
			    name));
	}
	return (0);
}

/*
 * path_ok(p):
 * Return whether every entry of the PATH value ${p} is an absolute
 * directory: an empty or relative entry would be looked up from the
 * working directory, the user's home.
 */
static int
path_ok(const char *p)
{
	for (;;) {
		if (*p != '/')
			return (0);
		if ((p = strchr(p, ':')) == NULL)
			return (1);
		p++;
	}
}

/*
 * check_env_path(e, g, ctx, key, v):
 * Refuse a "PATH=..." in the NULL-terminated environment ${v}, read from
 * setting ${key} of group ${g}, with a relative or empty entry.  Report
 * it after the prefix ${ctx}.  Return 0 or -1.
 */
static int
check_env_path(struct cerr *e, const config_setting_t *g, const char *ctx,
    const char *key, char *const *v)
{
	size_t i;

	for (i = 0; v != NULL && v[i] != NULL; i++)
		if (strncmp(v[i], "PATH=", 5) == 0 && !path_ok(v[i] + 5))
			return (fail(e, config_setting_get_member(g, key),
			    "%s%s: \"%s\" has a relative or empty entry", ctx,
			    key, v[i]));
	return (0);
}

/*
 * strv_free(v):
 * Free the NULL-terminated string vector ${v}.
 */
static void
strv_free(char **v)
{
	size_t i;

	if (v == NULL)
		return;
	for (i = 0; v[i] != NULL; i++)
		free(v[i]);
	free(v);
}

/*
 * get_strv(e, g, key, out, need_env):
 * Read the array of strings ${key} of group ${g} into the NULL-terminated
 * vector ${out} (left NULL if absent).  If ${need_env}, each must be
 * "NAME=value".  Return 0 or -1.
 */
static int
get_strv(struct cerr *e, const config_setting_t *g, const char *key,
    char ***out, int need_env)
{
	config_setting_t *a, *el;
	const char *s;
	char **v;
	int i, n;

	*out = NULL;
	if ((a = config_setting_get_member(g, key)) == NULL)
		return (0);
	if (!config_setting_is_array(a) && !config_setting_is_list(a))
		return (fail(e, a, "%s must be an array of strings", key));
	n = config_setting_length(a);
	if ((v = reallocarray(NULL, (size_t)n + 1, sizeof(*v))) == NULL)
		return (fail(e, a, "out of memory"));
	memset(v, 0, ((size_t)n + 1) * sizeof(*v));
	*out = v;
	for (i = 0; i < n; i++) {
		el = config_setting_get_elem(a, (unsigned int)i);
		if ((s = config_setting_get_string(el)) == NULL)
			return (fail(e, a, "%s must be an array of strings",
			    key));
		if (need_env && (strchr(s, '=') == NULL || s[0] == '='))
			return (fail(e, a, "%s: \"%s\" is not NAME=value",
			    key, s));
		if ((v[i] = strdup(s)) == NULL)
			return (fail(e, a, "out of memory"));
	}
	return (0);
}

/*
 * get_str(e, g, key, out):
 * Copy the string ${key} of group ${g} into ${out} (NULL if absent).
 * Return 0 or -1.
 */
static int
get_str(struct cerr *e, const config_setting_t *g, const char *key,
    char **out)
{
	config_setting_t *s;
	const char *v;

	*out = NULL;
	if ((s = config_setting_get_member(g, key)) == NULL)
		return (0);
	if ((v = config_setting_get_string(s)) == NULL)
		return (fail(e, s, "%s must be a string", key));
	if ((*out = strdup(v)) == NULL)
		return (fail(e, s, "out of memory"));
	return (0);
}

/*
 * get_bool(e, g, key, out):
 * Read the boolean ${key} of group ${g} into ${out} if present.
 * Return 0 or -1.
 */
static int
get_bool(struct cerr *e, const config_setting_t *g, const char *key,
    int *out)
{
	config_setting_t *s;

	if ((s = config_setting_get_member(g, key)) == NULL)
		return (0);
	if (config_setting_type(s) != CONFIG_TYPE_BOOL)
		return (fail(e, s, "%s must be true or false", key));
	*out = config_setting_get_bool(s);
	return (0);
}

/*
 * get_size(e, g, key, max, out):
 * Read the non-negative number ${key} of group ${g} into ${out} if present:
 * an integer, or a string with a K, M or G suffix.  Values above ${max}
 * are errors.  Return 0 or -1.
 */
static int
get_size(struct cerr *e, const config_setting_t *g, const char *key,
    uint64_t max, uint64_t *out)
{
	config_setting_t *s;
	const char *str;
	char *end;
	unsigned long long v;
	long long iv;
	int shift = 0;

	if ((s = config_setting_get_member(g, key)) == NULL)
		return (0);
	switch (config_setting_type(s)) {
	case CONFIG_TYPE_INT:
	case CONFIG_TYPE_INT64:
		iv = config_setting_get_int64(s);
		if (iv < 0)
			return (fail(e, s, "%s must not be negative", key));
		v = (unsigned long long)iv;
		break;
	case CONFIG_TYPE_STRING:
		str = config_setting_get_string(s);
		errno = 0;
		v = strtoull(str, &end, 10);
		if (end == str || errno != 0 || str[0] == '-')
			return (fail(e, s, "%s: bad number \"%s\"", key, str));
		switch (*end) {
		case 'G': case 'g': shift = 30; end++; break;
		case 'M': case 'm': shift = 20; end++; break;
		case 'K': case 'k': shift = 10; end++; break;
		default: break;
		}
		if (*end != '\0' || v > (ULLONG_MAX >> shift))
			return (fail(e, s, "%s: bad number \"%s\"", key, str));
		v <<= shift;
		break;
	default:
		return (fail(e, s, "%s must be a number", key));
	}
	if (v > max)
		return (fail(e, s, "%s is too large", key));
	*out = v;
	return (0);
}

/*
 * get_int(e, g, key, max, out):
 * As get_size(), for an int.
 */
static int
get_int(struct cerr *e, const config_setting_t *g, const char *key,
    int max, int *out)
{
	uint64_t v = (uint64_t)*out;

	if (get_size(e, g, key, (uint64_t)max, &v) == -1)
		return (-1);
	*out = (int)v;
	return (0);
}

/*
 * get_limits(e, g, sv, ctx):
 * Read the service limits of group ${g} into ${sv}; ${ctx} names the
 * group in messages ("defaults: ", "service NAME: ").  Return 0 or -1.
 */
static int
get_limits(struct cerr *e, const config_setting_t *g, struct service *sv,
    const char *ctx)
{
	const char *const *rlname = rl_keys;
	config_setting_t *rl, *s;
	const char *str;
	char rlctx[128];
	uint64_t v;
	char *mode = NULL;
	int i;

	if (get_bool(e, g, "interactive", &sv->interactive) == -1 ||
	    get_bool(e, g, "dash_args", &sv->dash_args) == -1 ||
	    get_int(e, g, "timeout", INT_MAX / 1000, &sv->timeout) == -1 ||
	    get_int(e, g, "idle_timeout", INT_MAX / 1000,
	    &sv->idle_timeout) == -1 ||
	    get_size(e, g, "max_output", UINT64_MAX, &sv->max_output) == -1 ||
	    get_size(e, g, "max_input", UINT64_MAX, &sv->max_input) == -1)
		return (-1);
	if (get_str(e, g, "eol", &mode) == -1)
		return (-1);
	if (mode != NULL) {
		if (strcmp(mode, "crlf") != 0 && strcmp(mode, "lf") != 0) {
			free(mode);
			return (fail(e, config_setting_get_member(g, "eol"),
			    "eol must be \"lf\" or \"crlf\""));
		}
		sv->crlf = strcmp(mode, "crlf") == 0;
		free(mode);
	}
	if (get_str(e, g, "stderr", &mode) == -1)
		return (-1);
	if (mode != NULL) {
		if (strcmp(mode, "client") != 0 && strcmp(mode, "log") != 0) {
			free(mode);
			return (fail(e, config_setting_get_member(g, "stderr"),
			    "stderr must be \"client\" or \"log\""));
		}
		sv->stderr_client = strcmp(mode, "client") == 0;
		free(mode);
	}
	if ((rl = config_setting_get_member(g, "rlimits")) == NULL)
		return (0);
	if (!config_setting_is_group(rl))
		return (fail(e, rl, "rlimits must be a group"));
	(void)snprintf(rlctx, sizeof(rlctx), "%srlimits: ", ctx);
	if (check_keys(e, rl, rlctx, rl_keys, NULL) == -1)
		return (-1);
	for (i = 0; i < RL_COUNT; i++) {
		if ((s = config_setting_get_member(rl, rlname[i])) == NULL)
			continue;
		str = config_setting_get_string(s);
		if (str != NULL && strcmp(str, "unlimited") == 0)
			v = (uint64_t)RLIM_INFINITY;
		else if (get_size(e, rl, rlname[i],
		    (uint64_t)RLIM_INFINITY - 1, &v) == -1)
			return (-1);
		else if (v == 0)
			return (fail(e, s, "rlimits: %s = 0 would let the program"
			    " have none; write \"unlimited\" for no limit",
			    rlname[i]));
		sv->rl_set[i] = 1;
		sv->rl[i] = (rlim_t)v;
	}
	return (0);
}

/*
 * get_addrs(e, g, sv):
 * Resolve the connect setting of service ${sv} (group ${g}) into its
 * addresses, now rather than when a command runs.  Return 0 or -1.
 */
static int
get_addrs(struct cerr *e, const config_setting_t *g, struct service *sv)
{
	char why[256];

	if ((sv->addrs = calloc(SOCK_ADDRS_MAX, sizeof(*sv->addrs))) == NULL)
		return (fail(e, g, "out of memory"));
	if (sock_resolve(sv->connect, sv->addrs, SOCK_ADDRS_MAX, &sv->naddrs,
	    why, sizeof(why)) == -1)
		return (fail(e, config_setting_get_member(g, "connect"),
		    "service %s: connect \"%s\": %s", sv->name, sv->connect,
		    why));
	DASSERT(sv->naddrs >= 1 && sv->naddrs <= SOCK_ADDRS_MAX);
	return (0);
}

/*
 * get_service(e, g, defaults, sv):
 * Read the service described by group ${g} into ${sv}, starting from
 * ${defaults}.  Return 0 or -1.
 */
static int
get_service(struct cerr *e, const config_setting_t *g,
    const struct service *defaults, struct service *sv)
{
	config_setting_t *a;
	char errbuf[128], ctx[128], actx[140];
	int rc;

	*sv = *defaults;
	sv->name = sv->description = sv->connect = sv->pattern_src = NULL;
	sv->addrs = NULL;
	sv->naddrs = 0;
	sv->exec = sv->env = sv->users = sv->groups = NULL;
	sv->has_pattern = 0;
	if (!config_setting_is_group(g))
		return (fail(e, g, "a service must be a group { ... }"));
	if (get_str(e, g, "name", &sv->name) == -1)
		return (-1);
	if (sv->name == NULL || !name_ok(sv->name, strlen(sv->name)))
		return (fail(e, g, "a service needs a name of letters, digits,"
		    " '.', '_' and '-'"));
	/* A valid name is at most NAME_MAX_LEN octets: it fits in ${ctx}. */
	DASSERT(strlen(sv->name) <= NAME_MAX_LEN &&
	    NAME_MAX_LEN + sizeof("service : ") <= sizeof(ctx));
	(void)snprintf(ctx, sizeof(ctx), "service %s: ", sv->name);
	if (check_keys(e, g, ctx, service_keys, limit_keys) == -1 ||
	    get_str(e, g, "description", &sv->description) == -1 ||
	    get_strv(e, g, "exec", &sv->exec, 0) == -1 ||
	    get_str(e, g, "connect", &sv->connect) == -1 ||
	    get_strv(e, g, "env", &sv->env, 1) == -1 ||
	    check_env_path(e, g, ctx, "env", sv->env) == -1 ||
	    get_strv(e, g, "users", &sv->users, 0) == -1 ||
	    get_strv(e, g, "groups", &sv->groups, 0) == -1 ||
	    get_limits(e, g, sv, ctx) == -1)
		return (-1);
	if (sv->description != NULL && strlen(sv->description) > DESC_MAX)
		return (fail(e, config_setting_get_member(g, "description"),
		    "service %s: description is longer than %d bytes",
		    sv->name, DESC_MAX));
	if ((sv->exec == NULL) == (sv->connect == NULL))
		return (fail(e, g, "service %s needs exactly one of exec and"
		    " connect", sv->name));
	if (sv->exec != NULL && (sv->exec[0] == NULL || sv->exec[0][0] != '/'))
		return (fail(e, config_setting_get_member(g, "exec"),
		    "service %s: exec must start with an absolute path",
		    sv->name));
	if (sv->connect != NULL && get_addrs(e, g, sv) == -1)
		return (-1);
	if ((a = config_setting_get_member(g, "args")) != NULL) {
		if (!config_setting_is_group(a))
			return (fail(e, a, "args must be a group"));
		(void)snprintf(actx, sizeof(actx), "%sargs: ", ctx);
		if (check_keys(e, a, actx, args_keys, NULL) == -1)
			return (-1);
		if (get_int(e, a, "min", INT_MAX, &sv->args_min) == -1 ||
		    get_int(e, a, "max", INT_MAX, &sv->args_max) == -1 ||
		    get_str(e, a, "pattern", &sv->pattern_src) == -1)
			return (-1);
		if (sv->args_max > ARGS_CAP || sv->args_min > ARGS_CAP)
			return (fail(e, a, "args: %s is above %d, the most "
			    "arguments one EXECUTE carries",
			    sv->args_max > ARGS_CAP ? "max" : "min",
			    ARGS_CAP));
		if (sv->args_min > sv->args_max)
			return (fail(e, a, "args: min is above max"));
		if (sv->pattern_src != NULL) {
			rc = regcomp(&sv->pattern, sv->pattern_src,
			    REG_EXTENDED | REG_NOSUB);
			if (rc != 0) {
				regerror(rc, &sv->pattern, errbuf,
				    sizeof(errbuf));
				return (fail(e, a, "args: pattern: %s",
				    errbuf));
			}
			sv->has_pattern = 1;
		}
	}
	return (0);
}

/*
 * get_services(e, root, cf):
 * Read the defaults group and the services list of ${root} into ${cf}.
 * Return 0 or -1.
 */
static int
get_services(struct cerr *e, const config_setting_t *root,
    struct config *cf)
{
	struct service defaults;
	config_setting_t *d, *list;
	size_t i, j, n;

	memset(&defaults, 0, sizeof(defaults));
	defaults.args_max = 16;
	defaults.timeout = DEF_TIMEOUT;
	defaults.idle_timeout = DEF_IDLE;
	defaults.max_output = DEF_OUTPUT;
	defaults.max_input = DEF_INPUT;
	if ((d = config_setting_get_member(root, "defaults")) != NULL) {
		if (!config_setting_is_group(d))
			return (fail(e, d, "defaults must be a group"));
		if (check_keys(e, d, "defaults: ", limit_keys, NULL) == -1 ||
		    get_limits(e, d, &defaults, "defaults: ") == -1)
			return (-1);
	}
	if ((list = config_setting_get_member(root, "services")) == NULL)
		return (0);
	if (!config_setting_is_list(list))
		return (fail(e, list, "services must be a list ( ... )"));
	n = (size_t)config_setting_length(list);
	if ((cf->services = reallocarray(NULL, n + 1,
	    sizeof(*cf->services))) == NULL)
		return (fail(e, list, "out of memory"));
	for (i = 0; i < n; i++) {
		cf->nservices = i + 1;
		if (get_service(e, config_setting_get_elem(list,
		    (unsigned int)i), &defaults, &cf->services[i]) == -1)
			return (-1);
		for (j = 0; j < i; j++)
			if (strcmp(cf->services[j].name,
			    cf->services[i].name) == 0)
				return (fail(e, config_setting_get_elem(list,
				    (unsigned int)i), "service %s is defined"
				    " twice", cf->services[i].name));
	}
	return (0);
}

/*
 * config_open(e, file, must_exist, fpp):
 * Open ${file} for reading into ${fpp}: a regular file (a directory would
 * make libconfig's scanner print to fd 2 and exit, a FIFO would hang).
 * Return 1, or 0 with ${fpp} NULL if it does not exist and not
 * ${must_exist}, or -1.
 */
static int
config_open(struct cerr *e, const char *file, int must_exist, FILE **fpp)
{
	struct stat st;
	int fd, fl;

	*fpp = NULL;
	/* O_NONBLOCK: opening a FIFO must not wait for a writer. */
	if ((fd = open(file, O_RDONLY | O_NONBLOCK | O_CLOEXEC)) == -1) {
		if (errno == ENOENT && !must_exist)
			return (0);
		return (fail(e, NULL, "%s", strerror(errno)));
	}
	if (fstat(fd, &st) == -1) {
		fail(e, NULL, "%s", strerror(errno));
		goto bad;
	}
	if (!S_ISREG(st.st_mode)) {
		fail(e, NULL, "not a regular file");
		goto bad;
	}
	if ((fl = fcntl(fd, F_GETFL)) == -1 ||
	    fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) == -1 ||
	    (*fpp = fdopen(fd, "r")) == NULL) {
		fail(e, NULL, "%s", strerror(errno));
		goto bad;
	}
	return (1);
bad:
	(void)close(fd);
	return (-1);
}

/*
 * get_user(e, root, cf):
 * Read the user setting of ${root} into ${cf}; an account with uid 0
 * would leave imapexec root.  Return 0 or -1.
 */
static int
get_user(struct cerr *e, const config_setting_t *root, struct config *cf)
{
	struct passwd *pw;

	if (get_str(e, root, "user", &cf->user) == -1)
		return (-1);
	if (cf->user != NULL && (pw = getpwnam(cf->user)) != NULL &&
	    pw->pw_uid == 0)
		return (fail(e, config_setting_get_member(root, "user"),
		    "user \"%s\" has uid 0: name the mail account",
		    cf->user));
	return (0);
}

/*
 * config_read_in(e, lc, fp):
 * Parse ${fp} into ${lc} with ${e}->dir as the working directory, so that
 * a relative @include is read from the file's own directory, never from
 * the caller's (under ssh, the user's home); libconfig 1.5's include_dir
 * would be put before absolute names too.  The working directory is
 * restored and ${fp} closed.  Return 1, 0 on a libconfig error, or -1
 * with the reason in ${e}.
 */
static int
config_read_in(struct cerr *e, config_t *lc, FILE *fp)
{
	int cwd, rc;

	/* O_PATH: the working directory need not be readable. */
	if ((cwd = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC)) == -1) {
		(void)fclose(fp);
		return (fail(e, NULL, "working directory: %s",
		    strerror(errno)));
	}
	if (chdir(e->dir) == -1) {
		(void)fail(e, NULL, "%s: %s", e->dir, strerror(errno));
		rc = -1;
	} else {
		rc = config_read(lc, fp) == CONFIG_TRUE;
		if (fchdir(cwd) == -1)
			rc = fail(e, NULL, "working directory: %s",
			    strerror(errno));
	}
	(void)fclose(fp);
	(void)close(cwd);
	return (rc);
}

/*
 * config_load(cf, file, must_exist, errbuf, errlen):
 * Read ${file} into ${cf}.  A missing file is an error only if
 * ${must_exist}; otherwise the built-in defaults apply.  Return 0, or -1
 * with a "file:line: reason" message in ${errbuf} of ${errlen} bytes.
 */
int
config_load(struct config *cf, const char *file, int must_exist,
    char *errbuf, size_t errlen)
{
	struct cerr e = { file, errbuf, errlen, NULL };
	char name[PATH_MAX];
	config_t lc;
	config_setting_t *root;
	FILE *fp;
	char *dir = NULL;
	int rc = -1;

	memset(cf, 0, sizeof(*cf));
	config_init(&lc);
	if ((cf->file = strdup(file)) == NULL || (dir = strdup(file)) == NULL) {
		fail(&e, NULL, "out of memory");
		goto out;
	}
	e.dir = dirname(dir);
	switch (config_open(&e, file, must_exist, &fp)) {
	case -1:
		goto out;
	case 0:
		goto defaults;
	default:
		break;
	}
	switch (config_read_in(&e, &lc, fp)) {
	case -1:
		goto out;
	case 0:
		(void)snprintf(errbuf, errlen, "%s:%d: %s", src_name(&e,
		    config_error_file(&lc), name, sizeof(name)),
		    config_error_line(&lc), config_error_text(&lc));
		goto out;
	default:
		break;
	}
	root = config_root_setting(&lc);
	if (check_keys(&e, root, "", root_keys, NULL) == -1)
		goto out;
	cf->probe_timeout = DEF_PROBE;
	cf->compress = 1;
	if (get_bool(&e, root, "compress", &cf->compress) == -1)
		goto out;
	if (get_int(&e, root, "probe_timeout", 3600, &cf->probe_timeout) == -1)
		goto out;
	if (cf->probe_timeout < 1) {
		fail(&e, config_setting_get_member(root, "probe_timeout"),
		    "probe_timeout must be at least 1");
		goto out;
	}
	if (get_strv(&e, root, "backend", &cf->backend, 0) == -1 ||
	    get_strv(&e, root, "backend_env", &cf->backend_env, 1) == -1 ||
	    check_env_path(&e, root, "", "backend_env", cf->backend_env) == -1 ||
	    get_user(&e, root, cf) == -1 ||
	    get_str(&e, root, "path", &cf->path) == -1)
		goto out;
	if (cf->path != NULL && !path_ok(cf->path)) {
		fail(&e, config_setting_get_member(root, "path"),
		    "path: \"%s\" has a relative or empty entry", cf->path);
		goto out;
	}
	if (get_services(&e, root, cf) == -1)
		goto out;
	if (cf->backend != NULL && (cf->backend[0] == NULL ||
	    cf->backend[0][0] != '/')) {
		fail(&e, config_setting_get_member(root, "backend"),
		    "backend must start with an absolute path");
		goto out;
	}
defaults:
	if (cf->probe_timeout == 0) {
		cf->probe_timeout = DEF_PROBE;
		cf->compress = 1;
	}
	if (cf->backend == NULL &&
	    ((cf->backend = calloc(2, sizeof(char *))) == NULL ||
	    (cf->backend[0] = strdup(DEFAULT_BACKEND)) == NULL)) {
		fail(&e, NULL, "out of memory");
		goto out;
	}
	if (cf->path == NULL && (cf->path = strdup(DEFAULT_PATH)) == NULL) {
		fail(&e, NULL, "out of memory");
		goto out;
	}
	rc = 0;
out:
	config_destroy(&lc);
	free(dir);
	if (rc == -1)
		config_free(cf);
	return (rc);
}

/*
 * config_free(cf):
 * Release everything ${cf} holds.
 */
void
config_free(struct config *cf)
{
	struct service *sv;
	size_t i;

	for (i = 0; i < cf->nservices; i++) {
		sv = &cf->services[i];
		free(sv->name);
		free(sv->description);
		strv_free(sv->exec);
		free(sv->connect);
		free(sv->addrs);
		strv_free(sv->env);
		strv_free(sv->users);
		strv_free(sv->groups);
		free(sv->pattern_src);
		if (sv->has_pattern)
			regfree(&sv->pattern);
	}
	free(cf->services);
	free(cf->file);
	strv_free(cf->backend);
	strv_free(cf->backend_env);
	free(cf->user);
	free(cf->path);
	memset(cf, 0, sizeof(*cf));
}

/*
 * config_service(cf, name):
 * Return the service called ${name}, or NULL.
 */
const struct service *
config_service(const struct config *cf, const char *name)
{
	size_t i;

	for (i = 0; i < cf->nservices; i++)
		if (strcmp(cf->services[i].name, name) == 0)
			return (&cf->services[i]);
	return (NULL);
}
