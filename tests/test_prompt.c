/* The prompt parser on hand-written prompts: varied phrasings with the spec
 * each must give, and prompts it must refuse (naming the word). */
#include <string.h>

#include "test.h"
#include "world/world.h"

#define X -1
typedef struct expect {
    const char *prompt;
    int n;
    int obj[3][3]; /* colour, shape, size */
    int background, motion, direction, speed, front;
} expect;

static const expect cases[] = {
    {"a red ball moves left on a blue background", 1, {{VD_RED, VD_CIRCLE, X}}, VD_BLUE, VD_LINEAR, VD_LEFT, X, X},
    {"On a blue background, a small red circle slides to the left.", 1, {{VD_RED, VD_CIRCLE, VD_SMALL}}, VD_BLUE, VD_LINEAR, VD_LEFT, X, X},
    {"a red disc drifting leftward over blue", 1, {{VD_RED, VD_CIRCLE, X}}, VD_BLUE, VD_LINEAR, VD_LEFT, X, X},
    {"A ball that is red moving to the right, the background is green", 1, {{VD_RED, VD_CIRCLE, X}}, VD_GREEN, VD_LINEAR, VD_RIGHT, X, X},
    {"red-coloured box heading toward the left against a black backdrop", 1, {{VD_RED, VD_SQUARE, X}}, VD_BLACK, VD_LINEAR, VD_LEFT, X, X},
    {"A big yellow triangle quickly travels up and to the left on white", 1, {{VD_YELLOW, VD_TRIANGLE, VD_LARGE}}, VD_WHITE, VD_LINEAR, VD_UP_LEFT, VD_FAST, X},
    {"a tiny grey wedge slowly moves towards the bottom right, on a pink background", 1, {{VD_GRAY, VD_TRIANGLE, VD_SMALL}}, VD_PINK, VD_LINEAR, VD_DOWN_RIGHT, VD_SLOW, X},
    {"the cube goes diagonally up-right, set against orange", 1, {{X, VD_SQUARE, X}}, VD_ORANGE, VD_LINEAR, VD_UP_RIGHT, X, X},
    {"A purple ball rises over a yellow backdrop", 1, {{VD_PURPLE, VD_CIRCLE, X}}, VD_YELLOW, VD_LINEAR, VD_UP, X, X},
    {"a green square falls and bounces on a white background", 1, {{VD_GREEN, VD_SQUARE, X}}, VD_WHITE, VD_FALLING, VD_DOWN, X, X},
    {"A cyan ball is dropped and bounces on the floor against black", 1, {{VD_CYAN, VD_CIRCLE, X}}, VD_BLACK, VD_FALLING, VD_DOWN, X, X},
    {"an orange block is thrown to the right on a gray background", 1, {{VD_ORANGE, VD_SQUARE, X}}, VD_GRAY, VD_THROWN, VD_RIGHT, X, X},
    {"a pink disc flies in an arc leftwards over a blue backdrop", 1, {{VD_PINK, VD_CIRCLE, X}}, VD_BLUE, VD_THROWN, VD_LEFT, X, X},
    {"a red ball and a green ball collide on a black background", 2, {{VD_RED, VD_CIRCLE, X}, {VD_GREEN, VD_CIRCLE, X}}, VD_BLACK, VD_COLLIDING, VD_DIR_NONE, X, X},
    {"The white box crashes into the blue triangle. Background: yellow", 2, {{VD_WHITE, VD_SQUARE, X}, {VD_BLUE, VD_TRIANGLE, X}}, VD_YELLOW, VD_COLLIDING, VD_DIR_NONE, X, X},
    {"two balls, red and blue, bounce off each other on green", 2, {{VD_RED, VD_CIRCLE, X}, {VD_BLUE, VD_CIRCLE, X}}, VD_GREEN, VD_COLLIDING, VD_DIR_NONE, X, X},
    {"a red square passes in front of a blue circle on a white background", 2, {{VD_RED, VD_SQUARE, X}, {VD_BLUE, VD_CIRCLE, X}}, VD_WHITE, VD_PASSING, X, X, VD_SQUARE == 1 ? 1 : 1},
    {"a small black dot slides left behind a large orange box against cyan", 2, {{VD_BLACK, VD_CIRCLE, VD_SMALL}, {VD_ORANGE, VD_SQUARE, VD_LARGE}}, VD_CYAN, VD_PASSING, VD_LEFT, X, 0},
    {"a yellow triangle enters from the left on a purple background", 1, {{VD_YELLOW, VD_TRIANGLE, X}}, VD_PURPLE, VD_ENTERING, VD_RIGHT, X, X},
    {"A blue ball comes into view from above, over a red backdrop", 1, {{VD_BLUE, VD_CIRCLE, X}}, VD_RED, VD_ENTERING, VD_DOWN, X, X},
    {"a gray box leaves the frame through the right edge on black", 1, {{VD_GRAY, VD_SQUARE, X}}, VD_BLACK, VD_LEAVING, VD_RIGHT, X, X},
    {"a green wedge moves out of view to the top against white", 1, {{VD_GREEN, VD_TRIANGLE, X}}, VD_WHITE, VD_LEAVING, VD_UP, X, X},
    {"a white ball sits still on a black background", 1, {{VD_WHITE, VD_CIRCLE, X}}, VD_BLACK, VD_STILL, VD_DIR_NONE, VD_SPEED_NONE, X},
    {"a violet square that doesn't move, on a green backdrop", 1, {{VD_PURPLE, VD_SQUARE, X}}, VD_GREEN, VD_STILL, VD_DIR_NONE, VD_SPEED_NONE, X},
    {"two red balls move fast to the right on blue", 2, {{VD_RED, VD_CIRCLE, X}, {VD_RED, VD_CIRCLE, X}}, VD_BLUE, VD_LINEAR, VD_RIGHT, VD_FAST, X},
    {"a red ball, a blue box and a green triangle rest against white", 3, {{VD_RED, VD_CIRCLE, X}, {VD_BLUE, VD_SQUARE, X}, {VD_GREEN, VD_TRIANGLE, X}}, VD_WHITE, VD_STILL, VD_DIR_NONE, VD_SPEED_NONE, X},
    {"leftward moves a red ball", 1, {{VD_RED, VD_CIRCLE, X}}, X, VD_LINEAR, VD_LEFT, X, X},
    {"A ball moves from the left to the right", 1, {{X, VD_CIRCLE, X}}, X, VD_LINEAR, VD_RIGHT, X, X},
    {"a medium-sized pink object glides downwards", 1, {{VD_PINK, X, VD_MEDIUM}}, X, VD_LINEAR, VD_DOWN, X, X},
};

static const struct { const char *prompt, *word; } rejected[] = {
    {"a zorblax ball", "zorblax"},
    {"a vermilion square moves left", "vermilion"},
    {"qwerty", "qwerty"},
    {"a red ball moves left and right", "right"},
    {"a red blue ball", "blue"},
    {"balls collide", "balls"},
    {"", NULL},
    {"a ball falls and is thrown sideways", NULL},
    {"four balls", "four"},
    {"red", "red"},
};

int main(void) {
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const expect *e = &cases[i];
        vd_prompt_spec s;
        vd_error err = {0};
        vd_status st = vd_world_parse_prompt(e->prompt, &s, &err);
        CHECK(st == VD_OK, "\"%s\": %s", e->prompt, err.message);
        if (st) continue;
        int ok = s.n_objects == e->n && s.background == e->background && s.motion == e->motion &&
                 s.direction == e->direction && s.speed == e->speed && s.front == e->front;
        for (int k = 0; k < e->n && k < s.n_objects; k++)
            ok &= s.objects[k].colour == e->obj[k][0] && s.objects[k].shape == e->obj[k][1] &&
                  s.objects[k].size == e->obj[k][2];
        CHECK(ok, "\"%s\": got n=%d obj0=(%d,%d,%d) bg=%d motion=%d dir=%d speed=%d front=%d", e->prompt,
              s.n_objects, s.objects[0].colour, s.objects[0].shape, s.objects[0].size, s.background,
              s.motion, s.direction, s.speed, s.front);
    }
    for (size_t i = 0; i < sizeof rejected / sizeof rejected[0]; i++) {
        vd_prompt_spec s;
        vd_error err = {0};
        vd_status st = vd_world_parse_prompt(rejected[i].prompt, &s, &err);
        CHECK(st == VD_ERR_FORMAT, "\"%s\" was understood", rejected[i].prompt);
        if (rejected[i].word)
            CHECK(strstr(err.message, rejected[i].word) != NULL, "\"%s\": message does not name '%s': %s",
                  rejected[i].prompt, rejected[i].word, err.message);
        printf("refused \"%s\": %s\n", rejected[i].prompt, err.message);
    }
    return vt_result("prompt");
}
