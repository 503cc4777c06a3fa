/*
 * A small JSON reader for "onionbalanced status": the status socket's
 * document (publishd's, docs/status-socket.md) as a tree that the printer
 * walks by field name.
 *
 * The document is treated as untrusted text: nesting and the number of
 * values are bounded, the whole input must be one value, and every string
 * comes out printable (escapes decoded; control characters, non-ASCII and
 * \u escapes outside printable ASCII become '?'), so nothing the socket
 * sends can drive the terminal.
 */
#ifndef OB_STATUS_JSON_H
#define OB_STATUS_JSON_H

#include <stddef.h>

#define SJ_MAX_DEPTH	32
#define SJ_MAX_NODES	200000

enum sj_type {
	SJ_NULL,
	SJ_BOOL,
	SJ_NUMBER,
	SJ_STRING,
	SJ_ARRAY,
	SJ_OBJECT,
};

struct sj_node {
	enum sj_type	 type;
	char		*key;		/* member name, inside an object */
	char		*text;		/* scalars: the value as text */
	struct sj_node	*child;		/* arrays, objects: first element */
	struct sj_node	*next;		/* next element of the parent */
};

/* The tree of buf[0..len), or NULL with *bad at the offending byte. */
struct sj_node	*sj_parse(const char *buf, size_t len, size_t *bad);
void		 sj_free(struct sj_node *);

/* Member key of an object; NULL when n is no object or has no such key. */
const struct sj_node *sj_get(const struct sj_node *n, const char *key);
/*
 * The text of scalar member key ("true", "12", the string's text), or
 * dflt when it is missing, null or not a scalar.
 */
const char	*sj_text(const struct sj_node *n, const char *key,
		    const char *dflt);
/* Elements of an array (0 for anything else). */
size_t		 sj_count(const struct sj_node *n);

#endif
