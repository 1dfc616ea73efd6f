// SPDX-License-Identifier: Apache-2.0
/* `netfence doctor`: run the checks of doctor.h and print one line per finding. */
#include <stdio.h>

#include "cli.h"
#include "doctor.h"
#include "json_writer.h"

static const char *const severity_names[] = { "info", "warning", "error" };

/* One object per finding; fix is null where there is none. */
static void print_json(const struct nf_doctor *d)
{
	struct nf_jsonw w = NF_JSONW_INIT(stdout);

	nf_jsonw_start_array(&w);
	for (size_t i = 0; i < d->n; i++) {
		const struct nf_finding *f = &d->v[i];

		nf_jsonw_start_object(&w);
		nf_jsonw_string_field(&w, "id", f->id);
		nf_jsonw_string_field(&w, "severity", severity_names[f->severity]);
		nf_jsonw_string_field(&w, "what", f->what);
		nf_jsonw_string_field(&w, "fix", f->fix);
		nf_jsonw_end_object(&w);
	}
	nf_jsonw_end_array(&w);
	nf_jsonw_end_line(&w);
}

static void print_text(const struct nf_doctor *d)
{
	size_t errors = 0, warnings = 0;

	for (size_t i = 0; i < d->n; i++) {
		const struct nf_finding *f = &d->v[i];

		printf("%-7s %s: %s%s%s\n", severity_names[f->severity], f->id, f->what,
		       f->fix ? "; fix: " : "", f->fix ? f->fix : "");
		errors += f->severity == NF_SEV_ERROR;
		warnings += f->severity == NF_SEV_WARNING;
	}
	if (errors + warnings == 0)
		printf("netfence doctor: no problem found\n");
	else
		printf("netfence doctor: %zu error%s, %zu warning%s\n", errors,
		       errors == 1 ? "" : "s", warnings, warnings == 1 ? "" : "s");
}

int nf_cmd_doctor(struct nf_cli *cli)
{
	struct nf_doctor d = {
		.root = cli->root ? cli->root : "",
		.config_path = cli->config_path,
		.bpffs_root = cli->bpffs_root,
	};
	int r;

	nf_doctor_run(&d);
	if (d.oom) {
		fprintf(stderr, "netfence: doctor: out of memory\n");
		nf_doctor_free(&d);
		return NF_EXIT_FAIL;
	}
	if (cli->json)
		print_json(&d);
	else
		print_text(&d);
	/* Warnings count: each is a way for a container to run unfenced or weaker than meant. */
	r = nf_doctor_count(&d, NF_SEV_WARNING) ? NF_EXIT_FAIL : NF_EXIT_OK;
	nf_doctor_free(&d);
	return r;
}
