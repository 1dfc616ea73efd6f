/* SPDX-License-Identifier: Apache-2.0 */
/*
 * OCI runtime input: the state a runtime writes to a hook's stdin, and the parts of the bundle's
 * config.json that netfence reads (runtime-spec, "State" and "Configuration").
 *
 * The parsers are pure: bytes in, a struct or -errno plus one message out. Messages name the
 * field by JSON pointer; type errors show the value as JSON, other errors quote it with
 * non-printable and non-ASCII bytes escaped and long values cut:
 *   /pid: "12" is not an integer
 *   /id: '../x' is not a valid container id ([A-Za-z0-9][A-Za-z0-9_.+-]*, at most 246 bytes
 *   and 251 with each '.' and '_' counted twice)
 *   /linux/namespaces/2/type: 3 is not a string
 * The caller prefixes them with where the document came from ("state: ...").
 * Unknown fields are allowed everywhere: runtimes add their own. Documents with duplicate keys,
 * NUL bytes, "\u0000" in strings or invalid UTF-8 are refused.
 * The state and config.json are read with json_scan.h's scanner, jansson's tree being much
 * slower on the 1 MB documents that carry large policies in their annotations; jansson parses
 * again only what the scanner or the field checks refuse, so that the messages stay the same.
 */
#ifndef NETFENCE_OCI_H
#define NETFENCE_OCI_H

#include <stdbool.h>
#include <stddef.h>

#define NF_OCI_STATE_MAX  (1024 * 1024)	    /* bytes of state on stdin */
#define NF_OCI_CONFIG_MAX (4 * 1024 * 1024) /* bytes of a bundle's config.json */
/* Bytes of a container id, and of its name in the pin store ('.' and '_' count twice): the
 * longest names derived from an id, <id>.json.tmp and <name>@new, then fit NAME_MAX (oci.c). */
#define NF_OCI_ID_MAX	      246
#define NF_OCI_ID_ENCODED_MAX 251
#define NF_OCI_STR_(x)	      #x
#define NF_OCI_STR(x)	      NF_OCI_STR_(x)
/* clang-format off */
#define NF_OCI_ID_RULE "[A-Za-z0-9][A-Za-z0-9_.+-]*, at most " NF_OCI_STR(NF_OCI_ID_MAX) \
	" bytes and " NF_OCI_STR(NF_OCI_ID_ENCODED_MAX) " with each '.' and '_' counted twice"
/* clang-format on */
/* A string a detach keeps as written when it reads the state compacted (json_scan.h): the
 * longest spelling of the longest id, every byte a \uXXXX escape. */
#define NF_OCI_BRIEF_KEEP (6 * NF_OCI_ID_MAX)

struct nf_oci_annotation {
	char *key;
	char *value;
};

struct nf_oci_annotations {
	size_t n;
	struct nf_oci_annotation *v; /* in document order */
};

struct nf_oci_state {
	char *oci_version; /* NULL if absent */
	char *id;	   /* valid by nf_oci_id_valid() */
	char *status;	   /* "creating", "created", "running", "stopped", ... (not checked) */
	int pid;	   /* 0..INT_MAX; 0 when absent */
	bool has_pid;	   /* present: runc omits it at poststop, crun sends 0 */
	char *bundle;
	struct nf_oci_annotations annotations; /* empty if absent or null */
};

struct nf_oci_mount {
	char *type;   /* NULL if absent */
	char *source; /* NULL if absent */
	bool bind;    /* "bind" or "rbind" among the options, or type "bind": a bind of source,
		       * whatever type it names; a relative source is the bundle's */
	bool rbind;   /* "rbind" among the options: the source's submounts come along */
	bool ro;      /* read-only itself ("ro"); an rbind's submounts stay writable */
	bool rro;     /* read-only with every submount ("rro", runc 1.1+, crun) */
};

struct nf_oci_config {
	struct nf_oci_annotations annotations;
	/*
	 * process.capabilities present. Without it runc and crun leave the process every capability
	 * they hold themselves, so nf_oci_config_has_cap() then answers true for any capability.
	 */
	bool has_capabilities;
	size_t n_caps;
	char **caps;	/* union of the bounding, effective, inheritable, permitted, ambient sets */
	bool has_netns; /* a "network" entry in linux.namespaces: not the host's network */
	char *netns_path;    /* that entry's path (joins an existing netns), NULL for a new one */
	bool has_userns;     /* a "user" entry in linux.namespaces */
	char *userns_path;   /* NULL for a new one */
	bool has_cgroupns;   /* a "cgroup" entry: it sees only its own subtree of cgroup mounts */
	char *cgroupns_path; /* NULL for a new one */
	bool has_pidns;	     /* a "pid" entry: not the host's process tree */
	char *pidns_path;    /* NULL for a new one */
	size_t n_mounts;
	struct nf_oci_mount *mounts; /* the "mounts" array */
};

/*
 * Parse the state JSON of len bytes (at most NF_OCI_STATE_MAX, need not be NUL-terminated).
 * Requires id (valid by nf_oci_id_valid()), status and bundle as strings; ociVersion (string),
 * pid (integer 0..INT_MAX) and annotations (object of strings, or null) are optional. Returns 0
 * with *ret set (free with nf_oci_state_free()), or -EINVAL, -EFBIG (too long) or -ENOMEM with a
 * message in err.
 */
int nf_oci_state_parse(const char *buf, size_t len, struct nf_oci_state **ret, char *err,
		       size_t errlen);
/*
 * What a detach needs: the same checks of the document as a whole, but of its fields only id
 * and status; the others are left unset. A runtime's oddities in fields a detach never reads
 * must not keep a fence in place, and at poststop the annotations still carry the whole policy.
 */
int nf_oci_state_parse_brief(const char *buf, size_t len, struct nf_oci_state **ret, char *err,
			     size_t errlen);
void nf_oci_state_free(struct nf_oci_state *s);

/* The value of annotation key, or NULL. */
const char *nf_oci_annotation(const struct nf_oci_state *s, const char *key);
const char *nf_oci_annotations_get(const struct nf_oci_annotations *a, const char *key);

/* The container id rule: NF_OCI_ID_RULE, never "." or "..", so that every file name
 * derived from it fits NAME_MAX. 0 or -EINVAL (also for NULL). */
int nf_oci_id_valid(const char *id);

/*
 * Parse a bundle's config.json of len bytes (at most NF_OCI_CONFIG_MAX): annotations (object of
 * strings), process.capabilities.* (arrays of strings) and linux.namespaces (array of objects
 * with a string "type" and an optional string "path"; at most one "network", "user", "cgroup"
 * and "pid" entry), each optional and allowed to be null. Returns 0 with *ret set (free with
 * nf_oci_config_free()), or -EINVAL, -EFBIG or -ENOMEM with a message in err.
 */
int nf_oci_config_parse(const char *buf, size_t len, struct nf_oci_config **ret, char *err,
			size_t errlen);
/* The same through jansson alone, the way nf_oci_config_parse() takes only for documents its
 * scanner refuses: for the tests and the fuzz target that compare the two. */
int nf_oci_config_parse_jansson(const char *buf, size_t len, struct nf_oci_config **ret, char *err,
				size_t errlen);

/*
 * Read and parse <bundle>/config.json; bundle must be an absolute path and the file a regular
 * file. Messages name the bundle: "bundle '/b': config.json: /linux: 1 is not an object".
 */
int nf_oci_config_load(const char *bundle, struct nf_oci_config **ret, char *err, size_t errlen);
void nf_oci_config_free(struct nf_oci_config *c);

/* Whether the container may hold capability cap ("CAP_NET_ADMIN", compared ignoring case) in
 * any of its sets; true when config.json does not restrict capabilities at all. */
bool nf_oci_config_has_cap(const struct nf_oci_config *c, const char *cap);

#endif
