/*
 * Text encodings used by tor: hex, RFC 4648 base32 (onion addresses) and
 * base64 (descriptors, certificates, control port).
 *
 * Decoders are strict about the alphabet and the length, and treat their
 * input as hostile: they never read past inlen and never write past outsz.
 * Every decoder returns the number of bytes written, or -1 if the input is
 * not valid for that encoding (the output is then unspecified but within
 * bounds).
 */
#ifndef OB_ENCODING_H
#define OB_ENCODING_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* hex: out must have room for 2*len+1 chars; NUL-terminated. */
void	hex_encode(char *out, const uint8_t *in, size_t len);		/* lower case */
void	hex_encode_upper(char *out, const uint8_t *in, size_t len);
/* Exactly 2*outlen hex digits of either case, else -1. Returns outlen. */
ssize_t	hex_decode(uint8_t *out, size_t outlen, const char *in, size_t inlen);

/* base32, lower-case output, never padded. */
size_t	base32_encoded_len(size_t len);			/* ceil(len*8/5), no NUL */
/* Writes base32_encoded_len(len) chars and a NUL; -1 if outsz is too small. */
ssize_t	base32_encode(char *out, size_t outsz, const uint8_t *in, size_t len);
/*
 * Accepts either case, no padding, no whitespace; the unused low bits of
 * the last character must be zero.  -1 if the decoded length would exceed
 * outsz.
 */
ssize_t	base32_decode(uint8_t *out, size_t outsz, const char *in, size_t inlen);

/* base64 (standard alphabet). */
#define BASE64_PAD		0x01	/* emit '=' padding */
#define BASE64_MULTILINE	0x02	/* 64-char lines, each (also the last) ends in '\n' */
/*
 * Decoding only: the input is public (a descriptor, not a key file), so a
 * table-driven decoder may be used, whose memory accesses depend on the
 * text.  It accepts and rejects exactly what the constant-time decoder
 * does and writes the same bytes.
 */
#define BASE64_PUBLIC		0x04

size_t	base64_encoded_len(size_t len, int flags);	/* no NUL */
/* Writes base64_encoded_len(len, flags) chars and a NUL; -1 if outsz is too small. */
ssize_t	base64_encode(char *out, size_t outsz, const uint8_t *in, size_t len,
	    int flags);
/*
 * Decodes with or without '=' padding (if present it must be correct).
 * With BASE64_MULTILINE, '\n' characters are skipped; anything else outside
 * the alphabet is an error.  Non-zero unused trailing bits are an error.
 */
ssize_t	base64_decode(uint8_t *out, size_t outsz, const char *in, size_t inlen,
	    int flags);
/* An upper bound of the decoded length of inlen chars. */
size_t	base64_decoded_maxlen(size_t inlen);

#endif
