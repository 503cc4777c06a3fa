/*
 * Internals shared by consensus.c, consensus_md.c and consensus_text.c,
 * and by their tests and fuzz target.  Not for the daemons: they use
 * consensus.h.
 */
#ifndef OB_CONSENSUS_PRIVATE_H
#define OB_CONSENSUS_PRIVATE_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* A piece of the caller's text; never NUL-terminated. */
struct text_ref {
	const char	*ptr;
	size_t		 len;
};

/* One line, without its '\n', split as tor's tokenizer splits it. */
struct line {
	struct text_ref	 whole;
	struct text_ref	 keyword;	/* up to the first space or tab */
	struct text_ref	 rest;		/* the arguments, blanks trimmed */
	size_t		 lineno;	/* 1-based */
};

struct line_reader {
	const char	*text;
	size_t		 len;
	size_t		 pos;
	size_t		 lineno;
};

void	line_reader_init(struct line_reader *rd, const char *text, size_t len);
/*
 * The next line that is neither blank nor a '#' comment (tor's tokenizer
 * skips both).  Returns 1, 0 at the end, -1 if a line is longer than
 * maxlen.
 */
int	line_reader_next(struct line_reader *rd, struct line *line,
	    size_t maxlen);
/* Takes the next blank-separated argument off *rest; 0 if none is left. */
int	text_next_arg(struct text_ref *rest, struct text_ref *arg);
size_t	text_count_args(struct text_ref rest);
int	text_eq(const struct text_ref *s, const char *lit);
int	text_has_prefix(const struct text_ref *s, const char *lit);
/* Strict base64 of exactly outlen bytes, '=' padding optional. */
int	text_base64_exact(const struct text_ref *s, uint8_t *out,
	    size_t outlen);
/* "YYYY-MM-DD HH:MM:SS" UTC with tor's ranges; -1 if malformed. */
int	consensus_parse_time(const struct text_ref *s, time_t *out);

#endif
