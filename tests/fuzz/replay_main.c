/* replay_main.c: runs a libFuzzer target over files and directories of seeds
 * without libFuzzer, so `make check` (gcc, sanitizers) replays every corpus. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
replay_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	unsigned char *buf;
	long len;

	if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (len = ftell(f)) < 0) {
		perror(path);
		if (f) fclose(f);
		return -1;
	}
	rewind(f);
	/* an exact-size heap copy, so ASan catches reads past the end */
	if ((buf = malloc(len ? (size_t)len : 1)) == NULL ||
	    fread(buf, 1, (size_t)len, f) != (size_t)len) {
		perror(path);
		free(buf);
		fclose(f);
		return -1;
	}
	fclose(f);
	LLVMFuzzerTestOneInput(buf, (size_t)len);
	free(buf);
	return 0;
}

int
main(int argc, char **argv)
{
	unsigned n = 0;

	for (int i = 1; i < argc; i++) {
		struct stat st;
		DIR *d;
		struct dirent *e;

		if (stat(argv[i], &st) == -1) {
			perror(argv[i]);
			return 1;
		}
		if (!S_ISDIR(st.st_mode)) {
			if (replay_file(argv[i]) == -1)
				return 1;
			n++;
			continue;
		}
		if ((d = opendir(argv[i])) == NULL) {
			perror(argv[i]);
			return 1;
		}
		while ((e = readdir(d)) != NULL) {
			char path[4096];

			if (e->d_name[0] == '.')
				continue;
			snprintf(path, sizeof(path), "%s/%s", argv[i], e->d_name);
			if (replay_file(path) == -1) {
				closedir(d);
				return 1;
			}
			n++;
		}
		closedir(d);
	}
	if (n == 0) {
		fprintf(stderr, "replay: no seeds found\n");
		return 1;
	}
	printf("replay: %u seeds ok\n", n);
	return 0;
}
