/* The prompt parser: the caption grammar read in reverse. Words are matched
 * against the grammar's tables (longest phrase first, articles ignored),
 * then read in order: adjectives wait for the noun that follows them (or,
 * after the noun, "a ball that is red", attach back to it); "on", "against"
 * and "background" claim the next colour; verbs vote for a motion by
 * strength; direction words combine ("up" + "left" = up-left). A word not
 * in the tables, or two readings that disagree, fail the parse: a prompt is
 * never guessed. */
#include <string.h>

#include "core/error.h"
#include "world/grammar.h"
#include "world/world.h"

#define MAX_TOKENS 128
#define MAX_PROMPT 2048

typedef struct token {
    const char *s;
    size_t len;
} token;

static int word_byte(unsigned char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c >= 0x80;
}

/* Lowercases into buf and splits on anything but letters, digits and
 * non-ASCII bytes; apostrophes inside a word vanish ("doesn't" ->
 * "doesnt"); articles are dropped. */
static int tokenise(const char *prompt, char *buf, token *toks, int *n, vd_error *err) {
    size_t len = strlen(prompt), w = 0;
    if (len >= MAX_PROMPT)
        return vd_fail(err, VD_ERR_FORMAT, "world: prompt: longer than %d bytes", MAX_PROMPT - 1);
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)prompt[i];
        if (c == '\'' && w > 0 && word_byte((unsigned char)buf[w - 1])) continue;
        if (c == 0xE2 && i + 2 < len && (unsigned char)prompt[i + 1] == 0x80 &&
            (unsigned char)prompt[i + 2] == 0x99) { /* U+2019, the typographic apostrophe */
            i += 2;
            continue;
        }
        buf[w++] = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
    }
    buf[w] = 0;
    *n = 0;
    for (size_t i = 0; i < w;) {
        if (!word_byte((unsigned char)buf[i])) {
            i++;
            continue;
        }
        size_t j = i;
        while (j < w && word_byte((unsigned char)buf[j])) j++;
        if (!vd_grammar_is_article(buf + i, j - i)) {
            if (*n >= MAX_TOKENS)
                return vd_fail(err, VD_ERR_FORMAT, "world: prompt: more than %d words", MAX_TOKENS);
            toks[*n].s = buf + i;
            toks[*n].len = j - i;
            (*n)++;
        }
        i = j;
    }
    return VD_OK;
}

/* How many tokens from toks[i] the table phrase `text` spans (tokenised the
 * same way), 0 when it does not match. */
static int phrase_match(const char *text, const token *toks, int i, int n) {
    int k = 0;
    const unsigned char *p = (const unsigned char *)text;
    while (*p) {
        if (!word_byte(*p)) {
            p++;
            continue;
        }
        const unsigned char *q = p;
        while (*q && word_byte(*q)) q++;
        size_t wl = (size_t)(q - p);
        if (!vd_grammar_is_article((const char *)p, wl)) {
            if (i + k >= n || toks[i + k].len != wl || memcmp(toks[i + k].s, p, wl)) return 0;
            k++;
        }
        p = q;
    }
    return k;
}

typedef struct reading {
    int kind, value, aux, dir; /* dir: a verb's implied direction */
    int ntok;
} reading;

/* The longest reading at toks[i] of at most `limit` tokens. */
static int longest_reading(const token *toks, int i, int n, int limit, reading *out) {
    int best = 0;
    if (n > i + limit) n = i + limit;
    for (size_t e = 0; e < vd_lexicon_count; e++) {
        int m = phrase_match(vd_lexicon[e].text, toks, i, n);
        if (m > best) {
            best = m;
            *out = (reading){vd_lexicon[e].kind, vd_lexicon[e].value, vd_lexicon[e].aux,
                             VD_DIR_NONE, m};
        }
    }
    for (size_t v = 0; v < vd_verbs_count; v++) {
        const vd_verb_entry *ve = &vd_verbs[v];
        const char *forms[3] = {ve->sg, ve->pl, ve->ing};
        for (int f = 0; f < 3; f++) {
            int m = phrase_match(forms[f], toks, i, n);
            if (m > best) {
                best = m;
                *out = (reading){VD_LEX_MOTION, ve->motion, ve->strength, ve->dir, m};
            }
        }
    }
    return best;
}

/* Directions as (horizontal, vertical) signs, screen up = -1. */
static void dir_parts(int dir, int *h, int *v) {
    float dx, dy;
    vd_direction_vector(dir, &dx, &dy);
    *h = dx > 0.1f ? 1 : dx < -0.1f ? -1 : 0;
    *v = dy > 0.1f ? 1 : dy < -0.1f ? -1 : 0;
}

static int dir_from_parts(int h, int v) {
    static const int table[3][3] = {/* [v+1][h+1] */
                                    {VD_UP_LEFT, VD_UP, VD_UP_RIGHT},
                                    {VD_LEFT, VD_DIR_NONE, VD_RIGHT},
                                    {VD_DOWN_LEFT, VD_DOWN, VD_DOWN_RIGHT}};
    return table[v + 1][h + 1];
}

/* Merges a direction word into *acc; 0 when they contradict. */
static int combine_dir(int *acc, int dir) {
    if (*acc < 0) {
        *acc = dir;
        return 1;
    }
    int h1, v1, h2, v2;
    dir_parts(*acc, &h1, &v1);
    dir_parts(dir, &h2, &v2);
    if ((h1 && h2 && h1 != h2) || (v1 && v2 && v1 != v2)) return 0;
    *acc = dir_from_parts(h1 ? h1 : h2, v1 ? v1 : v2);
    return 1;
}

typedef struct parse_state {
    vd_prompt_spec *spec;
    const token *toks;
    int pend_colour, pend_size, pend_count;
    int pend_colour_tok, pend_size_tok, pend_count_tok;
    int group_start; /* first object made by the last noun */
    int bg_mode;     /* 1: the next colour is the background */
    int bg_just_set;
    int from_mode, from_dir, to_dir;
    int motion_strength, motion_dir;
    vd_error *err;
} parse_state;

static vd_status word_fail(parse_state *ps, int tok, const char *what) {
    return vd_fail(ps->err, VD_ERR_FORMAT, "world: prompt: '%.*s' %s", (int)ps->toks[tok].len,
                   ps->toks[tok].s, what);
}

/* Adjectives with no noun after them describe the last noun's objects
 * ("a ball that is red", "two balls, red and blue"). */
static vd_status attach_back(parse_state *ps) {
    vd_prompt_spec *sp = ps->spec;
    if (ps->pend_count >= 0) return word_fail(ps, ps->pend_count_tok, "counts no shape");
    if (ps->pend_colour < 0 && ps->pend_size < 0) return VD_OK;
    int tok = ps->pend_colour >= 0 ? ps->pend_colour_tok : ps->pend_size_tok;
    if (sp->n_objects == 0) return word_fail(ps, tok, "describes no object");
    if (ps->pend_colour >= 0) {
        int i = ps->group_start;
        while (i < sp->n_objects && sp->objects[i].colour >= 0) i++;
        if (i == sp->n_objects)
            return word_fail(ps, ps->pend_colour_tok, "gives a second colour to an object");
        sp->objects[i].colour = ps->pend_colour;
    }
    if (ps->pend_size >= 0) {
        int i = ps->group_start;
        while (i < sp->n_objects && sp->objects[i].size >= 0) i++;
        if (i == sp->n_objects)
            return word_fail(ps, ps->pend_size_tok, "gives a second size to an object");
        sp->objects[i].size = ps->pend_size;
    }
    ps->pend_colour = ps->pend_size = -1;
    return VD_OK;
}

static vd_status set_background(parse_state *ps, int colour, int tok) {
    if (ps->spec->background >= 0 && ps->spec->background != colour)
        return word_fail(ps, tok, "contradicts the background named before");
    ps->spec->background = colour;
    ps->bg_just_set = 1;
    ps->bg_mode = 0;
    return VD_OK;
}

static vd_status read_word(parse_state *ps, const reading *r, int tok) {
    vd_prompt_spec *sp = ps->spec;
    vd_status st;
    int was_bg = ps->bg_just_set;
    if (r->kind != VD_LEX_FILLER) ps->bg_just_set = 0;
    switch (r->kind) {
    case VD_LEX_FILLER: return VD_OK;
    case VD_LEX_COLOUR:
        if (ps->bg_mode) return set_background(ps, r->value, tok);
        if (ps->pend_colour >= 0) return word_fail(ps, tok, "is a second colour for one object");
        ps->pend_colour = r->value;
        ps->pend_colour_tok = tok;
        return VD_OK;
    case VD_LEX_SIZE:
        if (ps->pend_size >= 0) return word_fail(ps, tok, "is a second size for one object");
        ps->pend_size = r->value;
        ps->pend_size_tok = tok;
        return VD_OK;
    case VD_LEX_COUNT:
        if (ps->pend_count >= 0) return word_fail(ps, tok, "is a second count");
        ps->pend_count = r->value;
        ps->pend_count_tok = tok;
        return VD_OK;
    case VD_LEX_SPEED:
        if (sp->speed >= 0 && sp->speed != r->value)
            return word_fail(ps, tok, "contradicts the speed named before");
        sp->speed = r->value;
        return VD_OK;
    case VD_LEX_SHAPE:
    case VD_LEX_THING: {
        int count = ps->pend_count >= 0 ? ps->pend_count : 1;
        if (r->aux && ps->pend_count < 0)
            return word_fail(ps, tok, "is plural but says not how many (say 'two balls')");
        if (sp->n_objects + count > VD_WORLD_MAX_OBJECTS)
            return vd_fail(ps->err, VD_ERR_FORMAT, "world: prompt: more than %d objects",
                           VD_WORLD_MAX_OBJECTS);
        ps->group_start = sp->n_objects;
        for (int k = 0; k < count; k++) {
            vd_prompt_object *o = &sp->objects[sp->n_objects++];
            o->shape = r->kind == VD_LEX_SHAPE ? r->value : -1;
            o->colour = ps->pend_colour;
            o->size = ps->pend_size;
        }
        /* "two red balls": one colour for both; "red and blue" after the
         * noun fills them one by one instead. */
        ps->pend_colour = ps->pend_size = ps->pend_count = -1;
        ps->bg_mode = 0;
        return VD_OK;
    }
    case VD_LEX_BG_NOUN:
        if (ps->pend_colour >= 0 && ps->pend_size < 0 && ps->pend_count < 0) {
            int c = ps->pend_colour;
            ps->pend_colour = -1;
            return set_background(ps, c, ps->pend_colour_tok);
        }
        if ((st = attach_back(ps))) return st;
        if (!was_bg) ps->bg_mode = 1; /* "the background is blue" */
        return VD_OK;
    case VD_LEX_BG_PREP:
        if ((st = attach_back(ps))) return st;
        ps->bg_mode = 1;
        return VD_OK;
    default: break;
    }
    /* Everything else ends a noun phrase. */
    if ((st = attach_back(ps))) return st;
    ps->bg_mode = 0;
    switch (r->kind) {
    case VD_LEX_AND: return VD_OK;
    case VD_LEX_FROM: ps->from_mode = 1; return VD_OK;
    case VD_LEX_DIR: {
        int *acc = ps->from_mode ? &ps->from_dir : &ps->to_dir;
        ps->from_mode = 0;
        if (!combine_dir(acc, r->value)) return word_fail(ps, tok, "contradicts the direction named before");
        return VD_OK;
    }
    case VD_LEX_FRONT:
        if (sp->front >= 0 && sp->front != r->value) return word_fail(ps, tok, "contradicts 'in front'/'behind' before");
        sp->front = r->value;
        if (ps->motion_strength < 3 || sp->motion == VD_PASSING) {
            sp->motion = VD_PASSING;
            ps->motion_strength = 3;
            ps->motion_dir = VD_DIR_NONE;
            return VD_OK;
        }
        return word_fail(ps, tok, "contradicts the motion named before");
    case VD_LEX_MOTION:
        if (r->aux > ps->motion_strength) {
            sp->motion = r->value;
            ps->motion_strength = r->aux;
            ps->motion_dir = r->dir;
        } else if (r->aux == ps->motion_strength && sp->motion != r->value) {
            return word_fail(ps, tok, "contradicts the motion named before");
        } else if (sp->motion == r->value && ps->motion_dir == VD_DIR_NONE) {
            ps->motion_dir = r->dir;
        }
        return VD_OK;
    default: return word_fail(ps, tok, "cannot be placed");
    }
}

vd_status vd_world_parse_prompt(const char *prompt, vd_prompt_spec *spec, vd_error *err) {
    memset(spec, 0, sizeof *spec);
    spec->n_objects = 0;
    for (int i = 0; i < VD_WORLD_MAX_OBJECTS; i++)
        spec->objects[i].colour = spec->objects[i].shape = spec->objects[i].size = -1;
    spec->background = spec->motion = spec->direction = spec->speed = spec->front = -1;
    if (!prompt) return vd_fail(err, VD_ERR_ARG, "world: prompt: NULL");

    char buf[MAX_PROMPT];
    token toks[MAX_TOKENS];
    int n = 0;
    vd_status st = tokenise(prompt, buf, toks, &n, err);
    if (st) return st;

    vd_prompt_spec out = *spec;
    parse_state ps = {.spec = &out, .toks = toks, .pend_colour = -1, .pend_size = -1,
                      .pend_count = -1, .from_dir = -1, .to_dir = -1,
                      .motion_dir = VD_DIR_NONE, .err = err};
    int content = 0;
    for (int i = 0; i < n;) {
        reading r = {0, 0, 0, 0, 0}, next = r;
        int m = longest_reading(toks, i, n, n, &r);
        /* One word of lookahead: "slides in front of" is "slides" + "in
         * front of", not "slides in" + "front". */
        if (m && i + m < n && !longest_reading(toks, i + m, n, n, &next)) {
            for (int shorter = m - 1; shorter > 0; shorter--) {
                reading alt = r;
                int m2 = longest_reading(toks, i, n, shorter, &alt);
                if (!m2) break;
                if (longest_reading(toks, i + m2, n, n, &next)) {
                    r = alt;
                    m = m2;
                    break;
                }
                shorter = m2;
            }
        }
        if (!m)
            return vd_fail(err, VD_ERR_FORMAT,
                           "world: prompt: unknown word '%.*s' (not a colour, shape, size, "
                           "motion, direction or speed vidit knows)",
                           (int)toks[i].len, toks[i].s);
        if ((st = read_word(&ps, &r, i))) return st;
        content += r.kind != VD_LEX_FILLER;
        i += m;
    }
    if ((st = attach_back(&ps))) return st;
    if (!content) return vd_fail(err, VD_ERR_FORMAT, "world: prompt: says nothing vidit can draw");

    /* Direction: stated, else opposite the side it comes from, else what
     * the verb implies. */
    int dir = ps.to_dir;
    if (dir < 0 && ps.from_dir >= 0) dir = (ps.from_dir - 1 + 4) % 8 + 1;
    if (dir < 0 && ps.motion_dir != VD_DIR_NONE) dir = ps.motion_dir;
    if (dir == VD_DIR_NONE) dir = -1;
    if (dir < 0 && (out.motion == VD_STILL || out.motion == VD_COLLIDING)) dir = VD_DIR_NONE;
    if (dir < 0 && out.motion == VD_FALLING) dir = VD_DOWN;
    out.direction = dir;
    if (out.speed < 0 && out.motion == VD_STILL) out.speed = VD_SPEED_NONE;
    *spec = out;
    return VD_OK;
}
