/*
 * The status document reader of "onionbalanced status" (status_json.c),
 * which reads whatever the status socket sends: any input.  Nothing may
 * crash, leak or read out of bounds, and every string it hands the
 * printer must be printable ASCII.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "status_json.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_printable(const char *s)
{
	for (; s != NULL && *s != '\0'; s++)
		if (*s < 0x20 || *s >= 0x7f)
			abort();
}

static void
walk(const struct sj_node *n, int depth)
{
	if (depth > SJ_MAX_DEPTH)
		abort();
	for (; n != NULL; n = n->next) {
		check_printable(n->key);
		check_printable(n->text);
		(void)sj_text(n, "state", "?");
		(void)sj_count(n);
		walk(n->child, depth + 1);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sj_node *doc;
	size_t bad = 0;

	if ((doc = sj_parse((const char *)data, size, &bad)) == NULL) {
		if (bad > size)
			abort();
		return 0;
	}
	walk(doc, 1);
	sj_free(doc);
	return 0;
}
