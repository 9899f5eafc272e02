/* Datasets: captions.jsonl with broken lines, Open-Sora CSVs with quoting,
 * and the atomic captions.jsonl writer. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io/dataset.h"
#include "test.h"

static int has_error(const vd_dataset *ds, const char *needle) {
    for (size_t i = 0; i < vd_dataset_error_count(ds); i++)
        if (strstr(vd_dataset_error(ds, i), needle)) return 1;
    return 0;
}

static void print_errors(const vd_dataset *ds) {
    for (size_t i = 0; i < vd_dataset_error_count(ds); i++)
        printf("     error: %s\n", vd_dataset_error(ds, i));
}

static void test_jsonl(void) {
    vd_dataset *ds = NULL;
    vd_error err = {0};
    /* A folder finds its captions.jsonl. */
    vd_status st = vd_dataset_open(&ds, "tests/data/dataset", &err);
    CHECK(st == VD_OK, "open: %s", err.message);
    if (st != VD_OK) return;
    print_errors(ds);
    CHECK(vd_dataset_count(ds) == 4, "%zu entries, want 4", vd_dataset_count(ds));
    CHECK(vd_dataset_error_count(ds) == 4, "%zu errors, want 4", vd_dataset_error_count(ds));
    CHECK(has_error(ds, "tests/data/dataset/captions.jsonl:3: column"), "broken JSON on line 3");
    CHECK(has_error(ds, "captions.jsonl:4: missing \"caption\""), "missing caption on line 4");
    CHECK(has_error(ds, "captions.jsonl:7: not a JSON object"), "array on line 7");
    CHECK(has_error(ds, "captions.jsonl:8: \"file\" must be"), "numeric file on line 8");
    const vd_dataset_item *a = vd_dataset_entry(ds, 0);
    CHECK(a && !strcmp(a->path, "tests/data/dataset/a.mp4") && !strcmp(a->file, "a.mp4") &&
              !strcmp(a->caption, "a red circle falls") && a->line == 1,
          "entry 0: %s %s", a ? a->path : "", a ? a->caption : "");
    const char *want_extra =
        "{\"truth\":{\"objects\":[{\"colour\":\"red\",\"x\":[1.5,2,2.25]}],\"motion\":\"falling\"},\"seed\":7}";
    CHECK(a && !strcmp(a->extra_json, want_extra), "extra_json: %s", a ? a->extra_json : "");
    const vd_dataset_item *b = vd_dataset_entry(ds, 1);
    CHECK(b && !strcmp(b->extra_json, "{}") && b->line == 2, "entry 1 extra %s", b ? b->extra_json : "");
    const vd_dataset_item *e = vd_dataset_entry(ds, 2);
    CHECK(e && !strcmp(e->path, "tests/data/dataset/sub/e.webm") &&
              !strcmp(e->caption, "caf\xc3\xa9 \"quoted\"") && e->line == 6,
          "entry 2: %s '%s' line %d", e ? e->path : "", e ? e->caption : "", e ? e->line : 0);
    const vd_dataset_item *f = vd_dataset_entry(ds, 3);
    CHECK(f && !strcmp(f->path, "/abs/f.gif"), "absolute path: %s", f ? f->path : "");
    CHECK(vd_dataset_entry(ds, 4) == NULL && vd_dataset_error(ds, 4) == NULL, "past the end");
    vd_dataset_free(ds);

    CHECK(vd_dataset_open(&ds, "tests/data/no_such_dataset", &err) == VD_ERR_IO &&
              strstr(err.message, "tests/data/no_such_dataset") && ds == NULL,
          "missing dataset: %s", err.message);
    CHECK(vd_dataset_open(&ds, "tests/data", &err) == VD_ERR_IO && strstr(err.message, "captions.jsonl"),
          "folder without captions: %s", err.message);
    vd_dataset_free(NULL);
}

static void test_csv(void) {
    vd_dataset *ds = NULL;
    vd_error err = {0};
    vd_status st = vd_dataset_open(&ds, "tests/data/dataset_csv/captions.csv", &err);
    CHECK(st == VD_OK, "open csv: %s", err.message);
    if (st == VD_OK) {
        print_errors(ds);
        CHECK(vd_dataset_count(ds) == 4, "%zu entries, want 4", vd_dataset_count(ds));
        CHECK(vd_dataset_error_count(ds) == 2, "%zu errors, want 2", vd_dataset_error_count(ds));
        CHECK(has_error(ds, "captions.csv:6: 2 fields, but the header has 3"), "short row on line 6");
        CHECK(has_error(ds, "captions.csv:8: unterminated quoted field"), "unterminated quote on line 8");
        const vd_dataset_item *it = vd_dataset_entry(ds, 0);
        CHECK(it && !strcmp(it->caption, "a red ball, then a blue one") &&
                  !strcmp(it->path, "tests/data/dataset_csv/v1.mp4") && !strcmp(it->extra_json, "{\"fps\":\"8\"}"),
              "row 1: '%s' %s %s", it ? it->caption : "", it ? it->path : "", it ? it->extra_json : "");
        it = vd_dataset_entry(ds, 1);
        CHECK(it && !strcmp(it->caption, "she said \"stop\"") && it->line == 3, "row 2: '%s'",
              it ? it->caption : "");
        it = vd_dataset_entry(ds, 2);
        CHECK(it && !strcmp(it->caption, "two\nlines") && !strcmp(it->file, "dir/v3.mp4") && it->line == 4,
              "row 3: '%s' line %d", it ? it->caption : "", it ? it->line : 0);
        it = vd_dataset_entry(ds, 3);
        CHECK(it && !strcmp(it->file, "v5.mp4") && it->line == 7 && !strcmp(it->extra_json, "{\"fps\":\"24\"}"),
              "row 5: %s line %d", it ? it->file : "", it ? it->line : 0);
    }
    vd_dataset_free(ds);

    st = vd_dataset_open(&ds, "tests/data/dataset_csv/video_caption.csv", &err);
    CHECK(st == VD_OK, "open csv: %s", err.message);
    if (st == VD_OK) {
        print_errors(ds);
        CHECK(vd_dataset_count(ds) == 2 && vd_dataset_error_count(ds) == 1, "%zu entries %zu errors",
              vd_dataset_count(ds), vd_dataset_error_count(ds));
        CHECK(has_error(ds, "video_caption.csv:3: text after a closing quote"), "bad quote on line 3");
        const vd_dataset_item *it = vd_dataset_entry(ds, 1);
        CHECK(it && !strcmp(it->caption, "last one") && it->line == 5, "last row without newline");
    }
    vd_dataset_free(ds);

    ds = NULL;
    st = vd_dataset_open(&ds, "tests/data/dataset_csv/bad_header.csv", &err);
    CHECK(st == VD_ERR_FORMAT && ds == NULL && strstr(err.message, "bad_header.csv:1: the header needs"),
          "header without a caption column: %s", err.message);
}

static void test_writer(void) {
    char root[] = "/tmp/vidit_test_dataset_XXXXXX";
    if (!mkdtemp(root)) {
        CHECK(0, "mkdtemp");
        return;
    }
    char folder[300], path[400];
    snprintf(folder, sizeof folder, "%s/set", root);
    vd_dataset_writer *w = NULL;
    vd_error err = {0};
    CHECK(vd_dataset_writer_new(&w, folder, &err) == VD_OK, "writer: %s", err.message);
    if (!w) return;
    CHECK(vd_dataset_writer_add(w, "000000.mp4", "a \"red\" circle\nfalls", "{\n  \"truth\": {\"r\": 0.1, \"n\": [1, 2e3]},\n  \"seed\": 12345678901\n}", &err) == VD_OK,
          "add: %s", err.message);
    CHECK(vd_dataset_writer_add(w, "000001.mp4", "caf\xc3\xa9", NULL, &err) == VD_OK, "add: %s", err.message);
    CHECK(vd_dataset_writer_add(w, "x.mp4", "c", "{\"file\":\"y\"}", &err) == VD_ERR_ARG, "extra with file accepted");
    CHECK(vd_dataset_writer_add(w, "x.mp4", "c", "{broken", &err) == VD_ERR_FORMAT && strstr(err.message, "x.mp4"),
          "broken extra: %s", err.message);
    CHECK(vd_dataset_writer_add(w, "", "c", NULL, &err) == VD_ERR_ARG, "empty file accepted");
    snprintf(path, sizeof path, "%s/captions.jsonl", folder);
    struct stat sb;
    CHECK(stat(path, &sb) != 0, "captions.jsonl exists before close");
    CHECK(vd_dataset_writer_close(w, &err) == VD_OK, "close: %s", err.message);
    vd_dataset_writer_free(w);

    int leftovers = 0;
    DIR *d = opendir(folder);
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL)
        if (strstr(e->d_name, ".tmp.")) leftovers++;
    if (d) closedir(d);
    CHECK(leftovers == 0, "%d temporary files left", leftovers);

    vd_dataset *ds = NULL;
    CHECK(vd_dataset_open(&ds, folder, &err) == VD_OK, "reopen: %s", err.message);
    if (ds) {
        CHECK(vd_dataset_count(ds) == 2 && vd_dataset_error_count(ds) == 0, "%zu entries %zu errors",
              vd_dataset_count(ds), vd_dataset_error_count(ds));
        const vd_dataset_item *it = vd_dataset_entry(ds, 0);
        CHECK(it && !strcmp(it->caption, "a \"red\" circle\nfalls") &&
                  !strcmp(it->extra_json, "{\"truth\":{\"r\":0.1,\"n\":[1,2000]},\"seed\":12345678901}"),
              "round trip: '%s' %s", it ? it->caption : "", it ? it->extra_json : "");
        it = vd_dataset_entry(ds, 1);
        CHECK(it && !strcmp(it->caption, "caf\xc3\xa9") && it->line == 2, "second line");
        snprintf(path, sizeof path, "%s/000001.mp4", folder);
        CHECK(it && !strcmp(it->path, path), "joined path %s", it ? it->path : "");
    }
    vd_dataset_free(ds);

    /* Missing parents are created (mkdir -p); a parent that is a file is
     * an error naming the path. */
    snprintf(path, sizeof path, "%s/new/nested", root);
    w = NULL;
    CHECK(vd_dataset_writer_new(&w, path, &err) == VD_OK && w != NULL,
          "writer in missing parents: %s", err.message);
    vd_dataset_writer_free(w);
    rmdir(path);
    snprintf(path, sizeof path, "%s/new", root);
    rmdir(path);
    char file_parent[600];
    snprintf(file_parent, sizeof file_parent, "%s/captions.jsonl/sub", folder);
    w = NULL;
    CHECK(vd_dataset_writer_new(&w, file_parent, &err) == VD_ERR_IO && w == NULL &&
              strstr(err.message, file_parent),
          "writer under a file: %s", err.message);
    vd_dataset_writer_free(NULL);

    snprintf(path, sizeof path, "%s/captions.jsonl", folder);
    unlink(path);
    rmdir(folder);
    rmdir(root);
}

int main(void) {
    test_jsonl();
    test_csv();
    test_writer();
    return vt_result("test_dataset");
}
