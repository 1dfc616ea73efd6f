// SPDX-License-Identifier: Apache-2.0
/* `netfence doctor`: run the checks of doctor.h and print one line per finding. */
#include <stdio.h>
#include <jansson.h>

#include "cli.h"
#include "doctor.h"

static const char *const severity_names[] = { "info", "warning", "error" };

static int print_json(const struct nf_doctor *d)
{
	json_t *arr = json_array();

	for (size_t i = 0; arr && i < d->n; i++) {
		const struct nf_finding *f = &d->v[i];

		if (json_array_append_new(arr, json_pack("{s:s, s:s, s:s, s:s?}", "id", f->id,
							 "severity", severity_names[f->severity],
							 "what", f->what, "fix", f->fix)) < 0) {
			json_decref(arr);
			arr = NULL;
		}
	}
	if (!arr)
		return -1;
	json_dumpf(arr, stdout, JSON_COMPACT);
	fputc('\n', stdout);
	json_decref(arr);
	return 0;
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
	if (cli->json) {
		if (print_json(&d) < 0) {
			fprintf(stderr, "netfence: doctor: out of memory\n");
			nf_doctor_free(&d);
			return NF_EXIT_FAIL;
		}
	} else {
		print_text(&d);
	}
	/* Warnings count: each is a way for a container to run unfenced or weaker than meant. */
	r = nf_doctor_count(&d, NF_SEV_WARNING) ? NF_EXIT_FAIL : NF_EXIT_OK;
	nf_doctor_free(&d);
	return r;
}
