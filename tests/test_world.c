/* The toy world: determinism, coverage of the vocabulary, physics laws,
 * rendering areas, caption -> parse round trips and JSON ground truth. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "core/json.h"
#include "core/strbuf.h"
#include "test.h"
#include "world/world.h"

static vd_scene scene_a, scene_b;

static void params(vd_world_params *p, int w, int h, int frames, unsigned motions) {
    vd_world_params_default(p);
    p->width = w;
    p->height = h;
    p->frames = frames;
    p->motions = motions;
}

static void test_determinism(void) {
    vd_world_params p;
    params(&p, 64, 48, 16, 0);
    char ca[512], cb[512];
    uint8_t *fa = malloc(64 * 48 * 3 * 16), *fb = malloc(64 * 48 * 3 * 16);
    for (int i = 0; i < 10; i++) {
        CHECK(vd_world_generate(&p, 7, (uint64_t)i, &scene_a, ca, sizeof ca, NULL) == VD_OK, "gen");
        CHECK(vd_world_generate(&p, 7, (uint64_t)i, &scene_b, cb, sizeof cb, NULL) == VD_OK, "gen");
        CHECK(!memcmp(&scene_a, &scene_b, sizeof scene_a), "scene %d differs between runs", i);
        CHECK(!strcmp(ca, cb), "caption %d differs", i);
        vd_world_render_video(&scene_a, fa);
        vd_world_render_video(&scene_b, fb);
        CHECK(!memcmp(fa, fb, 64 * 48 * 3 * 16), "pixels of video %d differ", i);
    }
    /* Video i is the same whether 5 or 10 are made: generate in a
     * different order, in parallel, and compare. */
    static vd_scene many[10];
#pragma omp parallel for schedule(dynamic, 1)
    for (int i = 9; i >= 0; i--) vd_world_generate(&p, 7, (uint64_t)i, &many[i], NULL, 0, NULL);
    for (int i = 0; i < 5; i++) {
        vd_world_generate(&p, 7, (uint64_t)i, &scene_a, NULL, 0, NULL);
        CHECK(!memcmp(&scene_a, &many[i], sizeof scene_a), "video %d depends on N or order", i);
    }
    vd_world_generate(&p, 8, 0, &scene_b, NULL, 0, NULL);
    vd_world_generate(&p, 7, 0, &scene_a, NULL, 0, NULL);
    CHECK(memcmp(&scene_a, &scene_b, sizeof scene_a), "seeds 7 and 8 gave the same scene");
    free(fa);
    free(fb);
}

static void test_reachable(void) {
    vd_world_params p;
    params(&p, 64, 64, 16, 0);
    int colour[VD_COLOUR_COUNT] = {0}, bg[VD_COLOUR_COUNT] = {0}, shape[VD_SHAPE_COUNT] = {0};
    int size[VD_SIZE_COUNT] = {0}, motion[VD_MOTION_COUNT] = {0}, dir[VD_DIR_COUNT] = {0};
    int speed[VD_SPEED_COUNT] = {0}, nobj[VD_WORLD_MAX_OBJECTS + 1] = {0}, front[2] = {0};
    int bad_colour = 0, bad_visible = 0, linear = 0;
    for (int i = 0; i < 600; i++) {
        vd_world_generate(&p, 3, (uint64_t)i, &scene_a, NULL, 0, NULL);
        const vd_scene *s = &scene_a;
        bg[s->background]++;
        motion[s->motion]++;
        nobj[s->n_objects]++;
        for (int k = 0; k < s->n_objects; k++) {
            const vd_world_object *o = &s->objects[k];
            colour[o->colour]++;
            shape[o->shape]++;
            size[o->size]++;
            if (o->colour == s->background) bad_colour++;
            for (int j = 0; j < k; j++) bad_colour += s->objects[j].colour == o->colour;
        }
        if (s->motion == VD_LINEAR) {
            const vd_world_object *o = &s->objects[0];
            dir[o->direction]++;
            speed[o->speed]++;
            linear++;
            /* Visible motion: at least 15% of the frame, centre stays in. */
            double dx = o->x[15] - o->x[0], dy = o->y[15] - o->y[0];
            if (sqrt(dx * dx + dy * dy) < 0.15 * 64) bad_visible++;
            for (int t = 0; t < 16; t++)
                if (o->x[t] < 0 || o->x[t] > 64 || o->y[t] < 0 || o->y[t] > 64) {
                    bad_visible++;
                    break;
                }
        }
        if (s->motion == VD_PASSING) front[s->objects[0].depth > s->objects[1].depth]++;
    }
    for (int c = 0; c < VD_COLOUR_COUNT; c++) {
        CHECK(colour[c] > 0, "colour %s never drawn", vd_colour_name(c));
        CHECK(bg[c] > 0, "background %s never drawn", vd_colour_name(c));
    }
    for (int k = 0; k < VD_SHAPE_COUNT; k++) CHECK(shape[k] > 0, "shape %s never drawn", vd_shape_name(k));
    for (int k = 0; k < VD_SIZE_COUNT; k++) CHECK(size[k] > 0, "size %s never drawn", vd_size_name(k));
    for (int k = 0; k < VD_MOTION_COUNT; k++) CHECK(motion[k] > 0, "motion %s never drawn", vd_motion_name(k));
    for (int k = 1; k < VD_DIR_COUNT; k++) CHECK(dir[k] > 0, "linear direction %s never drawn", vd_direction_name(k));
    CHECK(speed[VD_SLOW] > 0 && speed[VD_FAST] > 0, "speeds slow %d fast %d", speed[VD_SLOW], speed[VD_FAST]);
    for (int k = 1; k <= 3; k++) CHECK(nobj[k] > 0, "never %d objects", k);
    CHECK(front[0] > 0 && front[1] > 0, "passing behind %d, in front %d", front[0], front[1]);
    CHECK(bad_colour == 0, "%d objects share a colour with the background or each other", bad_colour);
    CHECK(bad_visible == 0, "%d of %d linear scenes move too little or leave the frame", bad_visible, linear);
}

static void test_falling(void) {
    vd_world_physics ph;
    vd_world_physics_default(&ph, 64, 64, 8);
    const int F = 40;
    float x[40], y[40];
    const float r = 5, y0 = 8;
    vd_world_rollout(&ph, 20, y0, 0, 0, 1, r, F, x, y);
    int bounce = -1;
    for (int t = 1; t < F; t++)
        if (y[t] < y[t - 1]) {
            bounce = t;
            break;
        }
    CHECK(bounce > 2, "no bounce in %d frames", F);
    if (bounce <= 2) return;
    double worst = 0;
    for (int t = 1; t + 1 < bounce - 1; t++)
        worst = fmax(worst, fabs((y[t + 1] - 2.0 * y[t] + y[t - 1]) - ph.gravity));
    CHECK(worst < 1e-3 * ph.gravity + 1e-4, "acceleration before the bounce differs from gravity by %g", worst);
    double drop = ph.floor_y - r - y0, g = ph.gravity;
    double v_in = sqrt(2 * g * drop), tc = sqrt(2 * drop / g);
    /* After the bounce the path is a parabola again: its central difference
     * at frame k+1 is the exact velocity there. */
    int k = (int)ceil(tc) + 1;
    double vk = (y[k + 2] - y[k]) / 2.0, v_out = -(vk - g * (k + 1 - tc));
    double want = ph.restitution * v_in;
    CHECK(fabs(v_out - want) < 0.01 * want, "speed after bounce %g, want restitution * %g = %g", v_out, v_in, want);
    for (int t = 0; t < F; t++) CHECK(y[t] <= ph.floor_y - r + 1e-3, "frame %d below the floor", t);
    /* Sampled falling scenes land within a 16-frame clip. */
    vd_world_params p;
    params(&p, 64, 64, 16, 1u << VD_FALLING);
    int late = 0;
    for (int i = 0; i < 40; i++) {
        vd_world_generate(&p, 11, (uint64_t)i, &scene_a, NULL, 0, NULL);
        for (int j = 0; j < scene_a.n_objects; j++) {
            const vd_world_object *o = &scene_a.objects[j];
            int up = 0;
            for (int t = 1; t < 16; t++) up |= o->y[t] < o->y[t - 1] - 1e-3f;
            late += !up;
        }
    }
    CHECK(late == 0, "%d falling objects did not bounce within 16 frames", late);
}

static void test_linear(void) {
    vd_world_physics ph;
    vd_world_physics_default(&ph, 64, 64, 8);
    float x[16], y[16];
    vd_world_rollout(&ph, 10, 50, 1.7f, -0.9f, 0, 4, 16, x, y);
    double worst = 0;
    for (int t = 1; t < 16; t++)
        worst = fmax(worst, fmax(fabs(x[t] - x[t - 1] - 1.7), fabs(y[t] - y[t - 1] + 0.9)));
    CHECK(worst < 1e-4, "linear velocity varies by %g px/frame", worst);
}

static void test_collision(void) {
    vd_world_params p;
    params(&p, 64, 64, 16, 1u << VD_COLLIDING);
    int hits = 0;
    double worst_p = 0, worst_e = 0;
    for (int i = 0; i < 60; i++) {
        vd_world_generate(&p, 5, (uint64_t)i, &scene_a, NULL, 0, NULL);
        const vd_world_object *a = &scene_a.objects[0], *b = &scene_a.objects[1];
        double ma = a->mass, mb = b->mass;
        double va0 = a->x[1] - a->x[0], vb0 = b->x[1] - b->x[0];
        double va1 = a->x[15] - a->x[14], vb1 = b->x[15] - b->x[14];
        if (fabs(va0 - va1) < 1e-3) continue;
        hits++;
        double p0 = ma * va0 + mb * vb0, p1 = ma * va1 + mb * vb1;
        double e0 = ma * va0 * va0 + mb * vb0 * vb0, e1 = ma * va1 * va1 + mb * vb1 * vb1;
        double scale = ma * fabs(va0) + mb * fabs(vb0);
        worst_p = fmax(worst_p, fabs(p1 - p0) / scale);
        worst_e = fmax(worst_e, fabs(e1 - e0) / e0);
        CHECK(fabs(a->y[15] - a->y[0]) < 1e-4, "collision left its line");
    }
    CHECK(hits >= 55, "only %d of 60 colliding scenes collided within the clip", hits);
    CHECK(worst_p < 1e-3, "momentum changed by %g (relative)", worst_p);
    CHECK(worst_e < 0.01, "kinetic energy changed by %g (relative)", worst_e);
    printf("collisions: %d, momentum err %.2g, energy err %.2g\n", hits, worst_p, worst_e);
}

static void test_render(void) {
    static float cov[96 * 80];
    struct { int shape; float r, angle; } cases[] = {
        {VD_CIRCLE, 10.3f, 0}, {VD_CIRCLE, 6.0f, 0}, {VD_SQUARE, 8.2f, 0.3f}, {VD_SQUARE, 12.0f, 0},
        {VD_TRIANGLE, 12.0f, 0.7f}, {VD_TRIANGLE, 7.5f, 0}};
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        vd_world_shape_coverage(cases[k].shape, 41.3f, 37.8f, cases[k].r, cases[k].angle, 96, 80, cov);
        double sum = 0;
        for (int i = 0; i < 96 * 80; i++) sum += cov[i];
        double want = vd_world_shape_area(cases[k].shape, cases[k].r);
        CHECK(fabs(sum - want) < 0.01 * want, "%s r=%g: coverage %g, area %g", vd_shape_name(cases[k].shape),
              (double)cases[k].r, sum, want);
    }
    /* A rendered frame: the object's centre has its colour, a far corner
     * the background, and an edge pixel a blend. */
    memset(&scene_a, 0, sizeof scene_a);
    scene_a.width = 48;
    scene_a.height = 32;
    scene_a.frames = 1;
    scene_a.background = VD_BLUE;
    scene_a.n_objects = 1;
    vd_world_object *o = &scene_a.objects[0];
    o->colour = VD_YELLOW;
    o->shape = VD_CIRCLE;
    o->radius = 6;
    o->x[0] = 20.5f;
    o->y[0] = 16;
    uint8_t rgb[48 * 32 * 3];
    vd_world_render(&scene_a, 0, rgb);
    CHECK(!memcmp(rgb + 3 * (16 * 48 + 20), vd_palette[VD_YELLOW], 3), "centre pixel is not yellow");
    CHECK(!memcmp(rgb + 3 * (31 * 48 + 47), vd_palette[VD_BLUE], 3), "corner pixel is not blue");
    const uint8_t *edge = rgb + 3 * (16 * 48 + 26); /* x in [26, 27): half covered */
    CHECK(edge[0] > vd_palette[VD_BLUE][0] && edge[0] < vd_palette[VD_YELLOW][0], "edge pixel not blended (%d)", edge[0]);
}

static int spec_fail(const char *cap, const char *what, int got, int want) {
    fprintf(stderr, "round trip: \"%s\": %s parsed %d, scene %d\n", cap, what, got, want);
    return 1;
}

/* Every caption parses back to its scene; with rare_words, the captions
 * also use the parser-only synonyms (and differ from the usual ones). */
static void test_round_trip(int rare_words) {
    const int n = vt_quick() ? 500 : 2000;
    static const int sizes[][2] = {{64, 64}, {48, 32}, {32, 48}, {128, 96}, {32, 32}};
    static const char *const rare[] = {"violet", "disk", "sphere", "orb", "cube", "tile", "pyramid", "huge"};
    int bad = 0, failed_parse = 0, with_rare = 0, changed = 0;
    char cap[512], usual[512];
    for (int i = 0; i < n; i++) {
        vd_world_params p;
        params(&p, sizes[i % 5][0], sizes[i % 5][1], 8 + i % 17, 0);
        p.max_objects = 1 + i % 3 == 1 ? 3 : 1 + i % 3;
        CHECK(vd_world_generate(&p, 99, (uint64_t)i, &scene_a, usual, sizeof usual, NULL) == VD_OK, "gen %d", i);
        p.rare_words = rare_words;
        CHECK(vd_world_generate(&p, 99, (uint64_t)i, &scene_a, cap, sizeof cap, NULL) == VD_OK, "gen %d", i);
        changed += strcmp(cap, usual) != 0;
        for (size_t w = 0; w < sizeof rare / sizeof *rare; w++)
            if (strstr(cap, rare[w])) {
                with_rare++;
                break;
            }
        vd_prompt_spec want, got;
        vd_world_scene_spec(&scene_a, &want);
        vd_error err;
        if (vd_world_parse_prompt(cap, &got, &err)) {
            if (failed_parse++ < 5) fprintf(stderr, "round trip: \"%s\" not understood: %s\n", cap, err.message);
            continue;
        }
        int e = 0;
        if (got.n_objects != want.n_objects) e |= spec_fail(cap, "objects", got.n_objects, want.n_objects);
        for (int k = 0; k < want.n_objects && k < got.n_objects; k++) {
            if (got.objects[k].colour != want.objects[k].colour) e |= spec_fail(cap, "colour", got.objects[k].colour, want.objects[k].colour);
            if (got.objects[k].shape != want.objects[k].shape) e |= spec_fail(cap, "shape", got.objects[k].shape, want.objects[k].shape);
            if (got.objects[k].size >= 0 && got.objects[k].size != want.objects[k].size) e |= spec_fail(cap, "size", got.objects[k].size, want.objects[k].size);
        }
        if (got.background != want.background) e |= spec_fail(cap, "background", got.background, want.background);
        if (got.motion != want.motion) e |= spec_fail(cap, "motion", got.motion, want.motion);
        if (got.direction != want.direction) e |= spec_fail(cap, "direction", got.direction, want.direction);
        if (got.speed >= 0 && got.speed != want.speed) e |= spec_fail(cap, "speed", got.speed, want.speed);
        if (want.motion == VD_PASSING && got.front != want.front) e |= spec_fail(cap, "front", got.front, want.front);
        if (e && bad < 10) fprintf(stderr, "  (scene %d)\n", i);
        bad += e;
        if (i < 8) printf("caption: %s\n", cap);
    }
    CHECK(failed_parse == 0, "%d of %d captions not understood (rare words %d%%)", failed_parse, n, rare_words);
    CHECK(bad == 0, "%d of %d captions parsed to a different spec (rare words %d%%)", bad, n, rare_words);
    if (rare_words == 0) {
        CHECK(changed == 0 && with_rare == 0, "rare words 0: %d captions changed, %d use a parser-only word", changed, with_rare);
    } else {
        const int ok = changed > n / 2 && with_rare > n / 4;
        CHECK(ok, "rare words %d%%: %d of %d captions changed, %d use a parser-only word", rare_words, changed, n,
              with_rare);
        if (ok && !bad && !failed_parse)
            printf("ok   rare words %d%%: %d of %d captions use parser-only synonyms, all parse back\n", rare_words,
                   with_rare, n);
    }
}

static void test_non_square(void) {
    static const int sizes[2][2] = {{48, 32}, {32, 48}};
    uint8_t *rgb = malloc(48 * 32 * 3 * 12);
    for (int k = 0; k < 2; k++) {
        int w = sizes[k][0], h = sizes[k][1];
        for (int m = 0; m < VD_MOTION_COUNT; m++) {
            vd_world_params p;
            params(&p, w, h, 12, 1u << m);
            vd_error err;
            CHECK(vd_world_generate(&p, 4, (uint64_t)m, &scene_a, NULL, 0, &err) == VD_OK, "%dx%d %s", w, h, vd_motion_name(m));
            CHECK(scene_a.width == w && scene_a.height == h && scene_a.n_objects >= 1, "%dx%d scene", w, h);
            vd_world_render_video(&scene_a, rgb);
            /* Frame 0 shows the objects unless they are entering. */
            if (m != VD_ENTERING) {
                int differs = 0;
                const uint8_t *bg = vd_palette[scene_a.background];
                for (int i = 0; i < w * h; i++) differs += memcmp(rgb + 3 * i, bg, 3) != 0;
                CHECK(differs > 4, "%dx%d %s: frame 0 is all background", w, h, vd_motion_name(m));
            }
        }
    }
    free(rgb);
}

static void test_json(void) {
    vd_world_params p;
    params(&p, 48, 32, 10, 0);
    for (int i = 0; i < 20; i++) {
        vd_world_generate(&p, 21, (uint64_t)i, &scene_a, NULL, 0, NULL);
        vd_strbuf s;
        vd_strbuf_init(&s);
        vd_world_scene_json(&s, &scene_a);
        CHECK(!s.failed, "strbuf failed");
        vd_error err;
        vd_json *j = vd_json_parse(vd_strbuf_cstr(&s), s.len, "truth", &err);
        CHECK(j != NULL, "json does not parse: %s", err.message);
        if (j) {
            vd_status st = vd_world_scene_from_json(j, &scene_b, &err);
            CHECK(st == VD_OK, "scene from json: %s", err.message);
            CHECK(scene_b.n_objects == scene_a.n_objects && scene_b.motion == scene_a.motion &&
                      scene_b.background == scene_a.background && scene_b.frames == 10,
                  "scene fields differ after json");
            for (int k = 0; k < scene_a.n_objects; k++) {
                const vd_world_object *a = &scene_a.objects[k], *b = &scene_b.objects[k];
                CHECK(a->colour == b->colour && a->shape == b->shape && a->size == b->size &&
                          a->direction == b->direction && a->speed == b->speed && a->depth == b->depth &&
                          a->motion == b->motion && a->radius == b->radius,
                      "object %d differs after json", k);
                for (int t = 0; t < 10; t++)
                    CHECK(fabsf(a->x[t] - b->x[t]) < 1e-3f && fabsf(a->y[t] - b->y[t]) < 1e-3f, "trajectory %d,%d", k, t);
            }
            vd_json_free(j);
        }
        if (i == 0) printf("truth: %.200s...\n", vd_strbuf_cstr(&s));
        vd_strbuf_free(&s);
    }
    const char *bad = "{\"width\":64,\"height\":64,\"frames\":1,\"fps\":8,\"background\":\"vermilion\","
                      "\"motion\":\"still\",\"physics\":{},\"objects\":[]}";
    vd_json *j = vd_json_parse(bad, strlen(bad), "bad", NULL);
    vd_error err;
    CHECK(j && vd_world_scene_from_json(j, &scene_b, &err) == VD_ERR_FORMAT && strstr(err.message, "vermilion"),
          "unknown colour accepted: %s", err.message);
    vd_json_free(j);
}

static void test_params(void) {
    vd_world_params p;
    vd_error err;
    params(&p, 31, 64, 16, 0);
    CHECK(vd_world_params_check(&p, &err) == VD_ERR_ARG, "width 31 accepted");
    params(&p, 64, 257, 16, 0);
    CHECK(vd_world_params_check(&p, &err) == VD_ERR_ARG, "height 257 accepted");
    params(&p, 64, 64, 0, 0);
    CHECK(vd_world_params_check(&p, &err) == VD_ERR_ARG, "0 frames accepted");
    params(&p, 64, 64, VD_WORLD_MAX_FRAMES + 1, 0);
    CHECK(vd_world_params_check(&p, &err) == VD_ERR_ARG, "too many frames accepted");
    params(&p, 64, 64, 16, 0);
    p.fps = 0;
    CHECK(vd_world_params_check(&p, &err) == VD_ERR_ARG, "fps 0 accepted");
    params(&p, 64, 64, 16, 1u << VD_COLLIDING);
    p.max_objects = 1;
    CHECK(vd_world_params_check(&p, &err) == VD_ERR_ARG, "colliding with one object accepted");
    params(&p, 64, 64, 16, 0);
    p.rare_words = 101;
    CHECK(vd_world_params_check(&p, &err) == VD_ERR_ARG, "rare words 101%% accepted");
    p.rare_words = -1;
    CHECK(vd_world_params_check(&p, &err) == VD_ERR_ARG, "rare words -1%% accepted");
    params(&p, 256, 32, 1, 0);
    CHECK(vd_world_params_check(&p, &err) == VD_OK, "256x32x1 refused: %s", err.message);
}

static int same_file(const char *a, const char *b) {
    FILE *fa = fopen(a, "rb"), *fb = fopen(b, "rb");
    int same = fa && fb;
    while (same) {
        int ca = fgetc(fa), cb = fgetc(fb);
        if (ca != cb) same = 0;
        if (ca == EOF || cb == EOF) break;
    }
    if (fa) fclose(fa);
    if (fb) fclose(fb);
    return same;
}

/* The command line: video i has the same bytes for N = 5 and N = 10 (raw
 * y4m, so the check is about the world, not an encoder), mp4 bytes do not
 * depend on the thread count, and bad options
 * exit 2. Skipped when VIDIT_BIN is not set. */
static void test_cli(void) {
    const char *bin = getenv("VIDIT_BIN");
    if (!bin) {
        printf("skip cli: VIDIT_BIN not set\n");
        return;
    }
    char d5[] = "/tmp/vidit_world5_XXXXXX", d10[] = "/tmp/vidit_world10_XXXXXX", cmd[1024];
    if (!mkdtemp(d5) || !mkdtemp(d10)) {
        CHECK(0, "mkdtemp failed");
        return;
    }
    snprintf(cmd, sizeof cmd, "%s world --n 5 --seed 9 --size 48x32 --frames 6 --format y4m --out %s/v --quiet", bin, d5);
    CHECK(system(cmd) == 0, "%s", cmd);
    snprintf(cmd, sizeof cmd, "%s world --n 10 --seed 9 --size 48x32 --frames 6 --format y4m --out %s/v --quiet --threads 1", bin, d10);
    CHECK(system(cmd) == 0, "%s", cmd);
    for (int i = 0; i < 5; i++) {
        char a[256], b[256];
        snprintf(a, sizeof a, "%s/v/%06d.y4m", d5, i);
        snprintf(b, sizeof b, "%s/v/%06d.y4m", d10, i);
        CHECK(same_file(a, b), "video %d differs between N=5 and N=10", i);
    }
    /* mp4 too: the encoder is set up so that the same frames give the same
     * bytes whichever thread encodes them (two threads against one). */
    snprintf(cmd, sizeof cmd, "%s world --n 12 --seed 4 --out %s/m --quiet --threads 2", bin, d5);
    CHECK(system(cmd) == 0, "%s", cmd);
    snprintf(cmd, sizeof cmd, "%s world --n 12 --seed 4 --out %s/m --quiet --threads 1", bin, d10);
    CHECK(system(cmd) == 0, "%s", cmd);
    for (int i = 0; i < 12; i++) {
        char a[256], b[256];
        snprintf(a, sizeof a, "%s/m/%06d.mp4", d5, i);
        snprintf(b, sizeof b, "%s/m/%06d.mp4", d10, i);
        CHECK(same_file(a, b), "mp4 %d differs between 1 and 2 threads", i);
    }
    static const char *const bad[] = {"--n 0", "--size 31x64", "--size 64x257", "--frames 0",
                                      "--frames 513", "--fps 0", "--bogus 1", "--format avi",
                                      "--motions flying", "--rare-words 101", "--rare-words -1"};
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        snprintf(cmd, sizeof cmd, "%s world %s --out %s/bad 2>/dev/null", bin, bad[k], d5);
        int rc = system(cmd);
        CHECK(WIFEXITED(rc) && WEXITSTATUS(rc) == 2, "'%s' exited %d, want 2", bad[k], rc);
    }
    snprintf(cmd, sizeof cmd, "rm -rf %s %s", d5, d10);
    CHECK(system(cmd) == 0, "%s", cmd);
}

/* --mirror: each four are pixel-exact mirror images of one scene (the
 * triangle's rotation included), and each caption reads back as its own
 * video's direction; scenes under gravity are mirrored left-right only. */
static void test_mirror(void) {
    enum { W = 64, H = 48, F = 9 };
    vd_world_params p;
    params(&p, W, H, F, 0);
    p.mirror = 1;
    uint8_t *v[4];
    for (int k = 0; k < 4; k++) v[k] = malloc((size_t)W * H * 3 * F);
    char cap[512];
    int linear = 0, gravity = 0, triangles = 0;
    for (int base = 0; base < 60; base++) {
        vd_scene s[4];
        for (int k = 0; k < 4; k++) {
            CHECK(vd_world_generate(&p, 3, (uint64_t)(4 * base + k), &s[k], cap, sizeof cap, NULL) == VD_OK, "gen");
            vd_prompt_spec want, got;
            vd_world_scene_spec(&s[k], &want);
            CHECK(vd_world_parse_prompt(cap, &got, NULL) == VD_OK, "caption '%s' does not parse", cap);
            CHECK(got.direction == want.direction || got.direction == VD_DIR_NONE,
                  "caption '%s' says %s, its video goes %s", cap, vd_direction_name(got.direction),
                  vd_direction_name(want.direction));
            vd_world_render_video(&s[k], v[k]);
        }
        const int grav = s[0].motion == VD_FALLING || s[0].motion == VD_THROWN;
        gravity += grav;
        linear += s[0].motion == VD_LINEAR;
        for (int i = 0; i < s[0].n_objects; i++) triangles += s[0].objects[i].shape == VD_TRIANGLE;
        for (int k = 1; k < 4; k++) {
            const int hz = k & 1, vt = (k & 2) && !grav;
            long worst = 0;
            for (int f = 0; f < F; f++)
                for (int y = 0; y < H; y++)
                    for (int x = 0; x < W; x++)
                        for (int c = 0; c < 3; c++) {
                            size_t a = (((size_t)f * H + y) * W + x) * 3 + (size_t)c;
                            size_t b = (((size_t)f * H + (vt ? H - 1 - y : y)) * W + (hz ? W - 1 - x : x)) * 3 + (size_t)c;
                            long d = labs((long)v[k][a] - (long)v[0][b]);
                            if (d > worst) worst = d;
                        }
            /* Anti-aliasing samples sit symmetrically in a pixel, so a
             * mirror is exact up to float rounding at edges. */
            CHECK(worst <= 2, "scene %d (%s) variant %d is not its mirror image: a pixel differs by %ld",
                  base, vd_motion_name(s[0].motion), k, worst);
            if (s[0].motion == VD_LINEAR) {
                float ux, uy, mx, my;
                vd_direction_vector(s[0].objects[0].direction, &ux, &uy);
                vd_direction_vector(s[k].objects[0].direction, &mx, &my);
                CHECK(fabsf(mx - (hz ? -ux : ux)) < 1e-5f && fabsf(my - (vt ? -uy : uy)) < 1e-5f,
                      "variant %d of a %s scene goes %s", k, vd_direction_name(s[0].objects[0].direction),
                      vd_direction_name(s[k].objects[0].direction));
            }
        }
    }
    CHECK(linear > 3 && gravity > 3 && triangles > 3, "too few kinds: %d linear, %d gravity, %d triangles",
          linear, gravity, triangles);
    for (int k = 0; k < 4; k++) free(v[k]);
}

int main(void) {
    test_determinism();
    test_mirror();
    test_reachable();
    test_falling();
    test_linear();
    test_collision();
    test_render();
    test_round_trip(0);
    test_round_trip(100);
    test_non_square();
    test_json();
    test_params();
    test_cli();
    return vt_result("world");
}
