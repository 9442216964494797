/*
 * A stand-in for libFuzzer's main: runs every file named on the command
 * line (a directory stands for the files in it) through
 * LLVMFuzzerTestOneInput once.  Linked with the fuzz targets by gcc (with
 * ASan and UBSan) so that `make check` replays the checked-in corpora
 * without clang.  Prints "N inputs" and exits 0, or aborts on the first
 * failed invariant as the target does.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static size_t ninputs;

static void
run_file(const char *path)
{
	FILE *fp;
	uint8_t *buf;
	long len;

	if ((fp = fopen(path, "rb")) == NULL) {
		perror(path);
		exit(2);
	}
	if (fseek(fp, 0, SEEK_END) != 0 || (len = ftell(fp)) < 0 ||
	    fseek(fp, 0, SEEK_SET) != 0) {
		perror(path);
		exit(2);
	}
	/* An exact-size copy, so ASan sees any read past the input. */
	if ((buf = malloc(len > 0 ? (size_t)len : 1)) == NULL ||
	    fread(buf, 1, (size_t)len, fp) != (size_t)len) {
		perror(path);
		exit(2);
	}
	(void)fclose(fp);
	(void)LLVMFuzzerTestOneInput(buf, (size_t)len);
	free(buf);
	ninputs++;
}

static void
run_path(const char *path)
{
	struct stat sb;
	struct dirent **ents;
	char *sub;
	int i, n;

	if (stat(path, &sb) == -1) {
		perror(path);
		exit(2);
	}
	if (!S_ISDIR(sb.st_mode)) {
		run_file(path);
		return;
	}
	if ((n = scandir(path, &ents, NULL, alphasort)) < 0) {
		perror(path);
		exit(2);
	}
	for (i = 0; i < n; i++) {
		if (ents[i]->d_name[0] != '.') {
			if (asprintf(&sub, "%s/%s", path, ents[i]->d_name) < 0)
				exit(2);
			run_path(sub);
			free(sub);
		}
		free(ents[i]);
	}
	free(ents);
}

int
main(int argc, char *argv[])
{
	int i;

	for (i = 1; i < argc; i++)
		run_path(argv[i]);
	printf("%zu inputs\n", ninputs);
	return (0);
}
