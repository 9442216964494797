/*
 * fuzz_config: the configuration loader (libconfig plus config.c's checks
 * of every setting).  config_load() takes a path, so each input is written
 * to one temporary file per process (created once, rewritten each time)
 * and loaded from there; a successful load is looked up and freed.
 * Inputs with "@include" are skipped: the admin's config may read any
 * file, which is not what is fuzzed here.  Invariants: no crash, leak or
 * undefined behaviour; a failure comes with a message naming the file; a
 * success has a backend with an absolute path and a PATH.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "fuzz.h"

static char path[64];

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config cf;
	char err[512];
	FILE *fp;
	size_t i;

	if (memmem(data, size, "@include", 8) != NULL)
		return (0);
	if (path[0] == '\0') {
		int fd;

		snprintf(path, sizeof(path), "/tmp/fuzz_config.XXXXXX");
		CHECK((fd = mkstemp(path)) != -1, "mkstemp");
		close(fd);
	}
	CHECK((fp = fopen(path, "wb")) != NULL, "fopen %s", path);
	CHECK(fwrite(data, 1, size, fp) == size, "fwrite");
	CHECK(fclose(fp) == 0, "fclose");
	err[0] = '\0';
	if (config_load(&cf, path, 1, err, sizeof(err)) == -1) {
		CHECK(strncmp(err, path, strlen(path)) == 0,
		    "error without the file name: %s", err);
		return (0);
	}
	CHECK(cf.backend != NULL && cf.backend[0] != NULL &&
	    cf.backend[0][0] == '/', "backend not absolute");
	CHECK(cf.path != NULL, "no PATH");
	for (i = 0; i < cf.nservices; i++) {
		CHECK(cf.services[i].name != NULL, "service without a name");
		CHECK(config_service(&cf, cf.services[i].name) != NULL,
		    "service %s not found by name", cf.services[i].name);
	}
	config_free(&cf);
	return (0);
}

/* Remove the temporary file at exit. */
static void __attribute__((destructor))
cleanup(void)
{
	if (path[0] != '\0')
		(void)unlink(path);
}
