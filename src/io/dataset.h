/* Captioned video datasets on disk.
 *
 * A dataset is a folder of videos with `captions.jsonl`: one JSON object per
 * line with at least "file" (a path relative to the folder, or absolute) and
 * "caption" (a string). Any other members (the world's "truth", a "seed")
 * travel with the entry as the compact JSON text of an object holding just
 * those members, e.g. {"truth":{...},"seed":7}, so that callers parse only
 * what they need.
 *
 * The reader also accepts Open-Sora's CSV layout: a header naming the path
 * column (`path`, `video` or `file`) and the caption column (`text` or
 * `caption`), fields quoted per RFC 4180 (commas, doubled quotes and line
 * breaks inside quotes), paths relative to the CSV's folder. Other columns
 * become string members of extra_json.
 *
 * A broken line does not stop reading: it is recorded as an error naming the
 * file and line ("data/captions.jsonl:7: missing \"caption\"") and the other
 * lines are read. Only a file that cannot be read at all, or a CSV header
 * without the needed columns, makes vd_dataset_open fail.
 *
 * Writing builds captions.jsonl in memory and replaces the file atomically
 * (temporary name + rename) on close, so a crash leaves the old file or
 * none, never half of one. */
#ifndef VD_IO_DATASET_H
#define VD_IO_DATASET_H

#include <stddef.h>

#include "vidit.h"

typedef struct vd_dataset vd_dataset;

/* One entry. Strings live as long as the dataset. */
typedef struct vd_dataset_item {
    const char *path;       /* file joined with the dataset's folder */
    const char *file;       /* as written in the jsonl/CSV */
    const char *caption;
    const char *extra_json; /* "{}" when there is nothing else */
    int line;               /* line of the jsonl/CSV where the entry starts */
} vd_dataset_item;

/* path: a folder (reads FOLDER/captions.jsonl, else FOLDER/captions.csv), a
 * .jsonl file or a .csv file. */
vd_status vd_dataset_open(vd_dataset **out, const char *path, vd_error *err);
void vd_dataset_free(vd_dataset *ds);

size_t vd_dataset_count(const vd_dataset *ds);
/* NULL when i is out of range. */
const vd_dataset_item *vd_dataset_entry(const vd_dataset *ds, size_t i);
/* The per-line errors met while reading, in file order. */
size_t vd_dataset_error_count(const vd_dataset *ds);
const char *vd_dataset_error(const vd_dataset *ds, size_t i); /* NULL past end */
/* The file the entries were read from. */
const char *vd_dataset_source(const vd_dataset *ds);

typedef struct vd_dataset_writer vd_dataset_writer;

/* Makes the folder when it does not exist (its parent must). */
vd_status vd_dataset_writer_new(vd_dataset_writer **out, const char *folder,
                                vd_error *err);
/* Adds one line. extra_json is NULL or the text of a JSON object whose
 * members are written after "file" and "caption" (it may not hold those two
 * keys); it is re-serialised compactly, so it may span lines. */
vd_status vd_dataset_writer_add(vd_dataset_writer *w, const char *file,
                                const char *caption, const char *extra_json,
                                vd_error *err);
/* Writes FOLDER/captions.jsonl (tmp + rename). The writer still needs
 * vd_dataset_writer_free afterwards. */
vd_status vd_dataset_writer_close(vd_dataset_writer *w, vd_error *err);
/* Frees without writing anything unless close was called. */
void vd_dataset_writer_free(vd_dataset_writer *w);

/* Appends the compact JSON text of any parsed value to s (used by both the
 * reader and the writer; numbers print with the fewest digits that read back
 * to the same double). Declared here for tests and tools. */
struct vd_strbuf;
struct vd_json;
void vd_dataset_json_compact(struct vd_strbuf *s, const struct vd_json *v);

#endif
