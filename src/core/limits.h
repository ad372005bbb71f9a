/* limits.h - every cap on untrusted input, in one place. Crossing one is
 * ERR_LIMIT. Layer: core. Each cap has a unit test that crosses it by one. */
#ifndef POSTERN_CORE_LIMITS_H
#define POSTERN_CORE_LIMITS_H

/* From the browser */
#define LIM_HTTP_URL (8u * 1024)            /* request line / URL */
#define LIM_HTTP_HEADERS (16u * 1024)       /* all headers together */
#define LIM_HTTP_HEADER_COUNT 100u          /* header fields per request */
#define LIM_HTTP_DISCARD (4u * 1024 * 1024) /* body bytes read and dropped
                                               past the cap so a 413 can be
                                               sent; beyond, the connection
                                               is just closed */
#define LIM_FORM_URLENCODED (1u * 1024 * 1024)
#define LIM_FORM_FIELDS 2000u               /* fields in one query or form */
#define LIM_COOKIES 50u                     /* cookies in one request */
#define LIM_ACTION_UIDS 1000u
#define LIM_PAGE_SIZE 200u                  /* messages per page */
#define LIM_PAGE_INDEX (1u << 24)           /* page number; store clamps */
#define LIM_SEARCH_QUERY 512u
#define LIM_HTTP_FORWARDED_HOPS 32u         /* X-Forwarded-For entries read */
#define LIM_THROTTLE_ENTRIES 100000u        /* addresses + users counted for
                                               login throttling (~100 B each) */

/* From mail servers */
#define LIM_IMAP_LINE (8u * 1024 * 1024)    /* bare SEARCH on huge folders */
#define LIM_IMAP_LINE_PRELOGIN (8u * 1024)  /* stricter before auth */
#define LIM_IMAP_LITERAL_MEM (1u * 1024 * 1024) /* larger: sink or fail */
#define LIM_IMAP_DEPTH 64u
#define LIM_IMAP_TOKENS 1000000u
#define LIM_IMAP_FOLDERS 10000u        /* mailboxes in one LIST */
#define LIM_IMAP_SUMMARY_CACHE 20000u  /* cached summaries per folder */
#define LIM_IMAP_MEMO_BYTES (512u * 1024) /* the last message's small parts,
                                            per connection */
#define LIM_IMAP_MEMO_SECTIONS 64u     /* parts of it remembered */
/* A download the browser paces must bring this much per command_timeout
 * the server keeps it waiting (136 bytes a second at the default 120 s):
 * any real link does; a server dripping a byte now and then does not. */
#define LIM_PACED_FLOOR (16u * 1024)
#define LIM_POP3_LINE (8u * 1024)
#define LIM_POP3_HEADER (256u * 1024)     /* one TOP n 0 header block */
#define LIM_POP3_SUMMARY_CACHE 20000u     /* headers remembered by UIDL */
#define LIM_POP3_SEEN 100000u             /* UIDLs remembered as opened */
#define LIM_POP3_MESSAGE_CACHE (8u * 1024 * 1024) /* last message kept */
#define LIM_POP3_SORT_HEADERS 5000u       /* sort by from/subject needs all */

/* From messages */
#define LIM_MIME_PARTS 1000u
#define LIM_MIME_DEPTH 32u
#define LIM_SANITIZE_INPUT (8u * 1024 * 1024)
/* cid: images written into the body frame as data: URIs (one response
 * instead of one per image, which is what a phone on a slow link waits
 * for); larger ones stay links to /part */
#define LIM_INLINE_IMAGE (64u * 1024)         /* one image, encoded */
#define LIM_INLINE_IMAGES (256u * 1024)       /* data: bytes per frame */
#define LIM_SRCDOC (1024u * 1024)             /* a frame carried in its page */

/* From templates and view models */
#define LIM_TEMPLATE_DEPTH 16u              /* nested partials */
#define LIM_TEMPLATE_SECTION_DEPTH 64u      /* nested sections */
#define LIM_JSON_DEPTH 64u

/* From the configuration */
#define LIM_CONFIG_FILE (1u * 1024 * 1024)
#define LIM_CONFIG_SERVERS 64u

#endif
