/*
 * Incremental parser for tor control-port replies (control-spec §2.3,
 * §2.4; digest §9.1).  No I/O and no event loop: feed it the bytes tor
 * sent, in pieces of any size, and take complete replies out of it.
 *
 * A reply is a run of lines "NNN-text" / "NNN+text" (followed by a data
 * block) ended by "NNN text".  Asynchronous events (code 6yz) may arrive
 * between the lines of a synchronous reply; the parser keeps one reply of
 * each kind in progress and hands each out when its end line arrives.
 *
 * Data blocks are rebuilt byte-exactly as tor's read_escaped_data() does:
 * every line loses its CR and one leading '.', and gets a LF, so the block
 * always ends in LF (the final newline of the last line is kept: the
 * digest of a microdescriptor or the signature of a descriptor covers it).
 *
 * Every line and every reply is bounded: a misbehaving tor cannot make us
 * allocate more than the limits below.  Any violation is sticky: once the
 * parser reported an error it reports it again; the connection must go.
 */
#ifndef OB_TORCTL_PARSE_H
#define OB_TORCTL_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * A status or data line (without its CRLF).  64 KiB: the longest lines we
 * expect are microdescriptor "family" lines of a few KiB.
 */
#define TORCTL_DEFAULT_MAX_LINE		(64 * 1024)
/*
 * Memory charged to one reply: text, data and bookkeeping.  A full
 * microdesc consensus or md/all of the live network is a few MiB.
 */
#define TORCTL_DEFAULT_MAX_REPLY	(32 * 1024 * 1024)

struct torctl_limits {
	size_t	max_line;
	size_t	max_reply;
};

enum torctl_parse_error {
	TORCTL_PARSE_OK = 0,
	TORCTL_PARSE_LINE_TOO_LONG,
	TORCTL_PARSE_REPLY_TOO_LARGE,
	TORCTL_PARSE_BARE_LF,		/* a line ended in LF without CR */
	TORCTL_PARSE_NUL,		/* NUL byte in a status line */
	TORCTL_PARSE_BAD_STATUS,	/* not "NNN" followed by ' ', '-', '+' */
	TORCTL_PARSE_TRUNCATED,		/* the stream ended inside a reply */
	TORCTL_PARSE_NOMEM,
};

/* What torctl_parser_feed() did. */
enum torctl_feed {
	TORCTL_FEED_MORE,	/* consumed everything, no reply completed */
	TORCTL_FEED_REPLY,	/* a reply completed; feed the rest again */
	TORCTL_FEED_ERROR,	/* protocol violation, see the parser error */
};

struct torctl_line {
	char		*text;		/* after "NNN" and separator; NUL-ended */
	size_t		 text_len;
	char		*data;		/* '+' lines: the rebuilt block, else NULL */
	size_t		 data_len;	/* data is also NUL-terminated */
	uint16_t	 code;
	char		 sep;		/* '-', '+' or ' ' */
};

struct torctl_reply {
	struct torctl_line	*lines;
	size_t			 nlines;
	size_t			 cap;
	size_t			 mem;	/* bytes charged against max_reply */
	uint16_t		 code;	/* status code of the end line */
};

struct torctl_parser {
	struct torctl_limits	 limits;
	char			*line;		/* the line being read */
	size_t			 line_len;
	size_t			 line_cap;
	char			*data;		/* the data block being read */
	size_t			 data_len;
	size_t			 data_cap;
	struct torctl_reply	*data_owner;	/* non-NULL inside a block */
	struct torctl_reply	*sync;		/* reply in progress */
	struct torctl_reply	*async;		/* event in progress */
	enum torctl_parse_error	 error;
	char			 why[96];	/* error detail for the log */
};

/* limits may be NULL (defaults); a zero field also means its default. */
void	torctl_parser_init(struct torctl_parser *p,
	    const struct torctl_limits *limits);
/* Frees everything the parser holds; it can then be initialised again. */
void	torctl_parser_clear(struct torctl_parser *p);
/*
 * Consumes bytes from buf.  *used says how many; on TORCTL_FEED_REPLY
 * *out is a complete reply that the caller owns (torctl_reply_free) and
 * buf + *used is where to go on.
 */
enum torctl_feed torctl_parser_feed(struct torctl_parser *p, const void *buf,
	    size_t len, size_t *used, struct torctl_reply **out);
/* The stream ended: 0 if it ended between replies, else -1 (TRUNCATED). */
int	torctl_parser_finish(struct torctl_parser *p);
/* "line too long (65537 bytes)" and the like. */
const char *torctl_parser_why(const struct torctl_parser *p);
const char *torctl_parse_error_str(enum torctl_parse_error e);

void	torctl_reply_free(struct torctl_reply *r);
bool	torctl_reply_is_event(const struct torctl_reply *r);
/* The end line's text: tor's message for errors ("Unrecognized key ..."). */
const char *torctl_reply_message(const struct torctl_reply *r);
/*
 * The value of key in a GETINFO reply: "key=value" on a '-' or ' ' line,
 * or the data block of a "key=" '+' line.  NULL if absent.
 */
const char *torctl_reply_getinfo(const struct torctl_reply *r,
	    const char *key, size_t *len);
/*
 * Finds KEY=VALUE among the space-separated words of text and copies the
 * value (a QuotedString is unescaped) to out.  0 if found and it fit,
 * -1 if absent, malformed, or too long.
 */
int	torctl_kv_get(const char *text, const char *key, char *out,
	    size_t outlen);
/* Copies the n-th (from 0) space-separated word of text; 0 or -1. */
int	torctl_word(const char *text, size_t n, char *out, size_t outlen);

#endif
