/* The caption grammar, defined once as data: the word tables (lexicon and
 * motion verbs) that the caption generator draws from and the prompt parser
 * reads back, plus the generator's phrase templates. An entry flagged
 * VD_G_GEN may appear in generated captions; the others are extra phrasings
 * only the parser accepts. Internal to src/world. */
#ifndef VD_WORLD_GRAMMAR_H
#define VD_WORLD_GRAMMAR_H

#include <stddef.h>

enum vd_lex_kind {
    VD_LEX_COLOUR = 1, /* value: vd_colour */
    VD_LEX_SHAPE,      /* value: vd_shape, aux: 1 plural */
    VD_LEX_THING,      /* "object": a shape left open; aux: 1 plural */
    VD_LEX_SIZE,       /* value: vd_size */
    VD_LEX_SPEED,      /* value: vd_speed */
    VD_LEX_DIR,        /* value: vd_direction (an axis; words combine) */
    VD_LEX_FROM,       /* the next direction is the side motion starts from */
    VD_LEX_MOTION,     /* value: vd_motion, aux: strength 1..3 */
    VD_LEX_FRONT,      /* value: 1 in front of, 0 behind (implies passing) */
    VD_LEX_BG_NOUN,    /* "background" */
    VD_LEX_BG_PREP,    /* "on", "against": a colour next names the background */
    VD_LEX_COUNT,      /* value: number of objects */
    VD_LEX_AND,        /* separates phrases */
    VD_LEX_FILLER      /* carries nothing */
};

/* flags */
#define VD_G_GEN 1u    /* the generator may use it */
#define VD_G_ADV 2u    /* speed: an adverb ("slowly") */
#define VD_G_ADJ 4u    /* speed: an adjective ("slow") */

typedef struct vd_lex_entry {
    const char *text;
    unsigned char kind;
    signed char value;
    signed char aux;
    unsigned char flags;
} vd_lex_entry;

extern const vd_lex_entry vd_lexicon[];
extern const size_t vd_lexicon_count;

/* verb flags */
#define VD_V_GEN 1u     /* the generator may use it */
#define VD_V_DIR 2u     /* takes a direction phrase ("moves" + "left") */
#define VD_V_CIRCLE 4u  /* generated for round things only ("rolls") */
#define VD_V_PASS 8u    /* may carry "in front of"/"behind" for passing */
#define VD_V_FROM 16u   /* takes a "from the left" phrase (entering) */

/* A motion verb in its three forms: one subject ("moves", "collides
 * with"), several ("move", "collide") and the participle ("moving"). For
 * collisions the singular form is transitive ("A collides with B") and the
 * plural reciprocal ("A and B collide"). */
typedef struct vd_verb_entry {
    const char *sg, *pl, *ing;
    signed char motion;
    signed char strength; /* 1 generic ("moves"), 2 suggestive, 3 specific */
    signed char dir;      /* direction the verb implies, VD_DIR_NONE if none */
    unsigned char flags;
} vd_verb_entry;

extern const vd_verb_entry vd_verbs[];
extern const size_t vd_verbs_count;

/* Generated direction phrases: for "to" motion (moves left), for the side
 * an entering object comes from, and where a leaving object goes. */
typedef struct vd_phrase_entry {
    const char *text;
    signed char value; /* a vd_direction */
} vd_phrase_entry;
extern const vd_phrase_entry vd_dir_phrases[];
extern const size_t vd_dir_phrases_count;
extern const vd_phrase_entry vd_from_phrases[]; /* value: side */
extern const size_t vd_from_phrases_count;
extern const vd_phrase_entry vd_exit_phrases[];
extern const size_t vd_exit_phrases_count;

/* Background phrases with "%s" for the colour word. */
extern const char *const vd_bg_phrases[];
extern const size_t vd_bg_phrases_count;

/* Passing: value 1 "in front of", 0 "behind". */
extern const vd_phrase_entry vd_front_phrases[];
extern const size_t vd_front_phrases_count;

/* Caption templates. Slots: {S} subjects, {V} finite verb phrase, {I}
 * participle phrase, {B} background phrase; pairs use {A} and {O} (the
 * two objects), {T} transitive ("collides with"), {R} reciprocal
 * ("collide"), {RI} reciprocal participle, {P} passing phrase ("slides
 * left in front of"), {PI} its participle. */
extern const char *const vd_templates_single[];
extern const size_t vd_templates_single_count;
extern const char *const vd_templates_collide[];
extern const size_t vd_templates_collide_count;
extern const char *const vd_templates_pass[];
extern const size_t vd_templates_pass_count;

/* Articles dropped by the tokeniser (in prompts and in table phrases). */
int vd_grammar_is_article(const char *word, size_t len);

#endif
