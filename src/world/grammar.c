/* The caption grammar's tables (see grammar.h). Kept in one place so that
 * every phrase the generator writes is one the parser reads. */
#include <string.h>

#include "world/grammar.h"
#include "world/world.h"

#define G VD_G_GEN
#define L(text, kind, value, aux, flags) {text, kind, value, aux, flags}

const vd_lex_entry vd_lexicon[] = {
    /* colours */
    L("red", VD_LEX_COLOUR, VD_RED, 0, G), L("orange", VD_LEX_COLOUR, VD_ORANGE, 0, G),
    L("yellow", VD_LEX_COLOUR, VD_YELLOW, 0, G), L("green", VD_LEX_COLOUR, VD_GREEN, 0, G),
    L("cyan", VD_LEX_COLOUR, VD_CYAN, 0, G), L("blue", VD_LEX_COLOUR, VD_BLUE, 0, G),
    L("purple", VD_LEX_COLOUR, VD_PURPLE, 0, G), L("violet", VD_LEX_COLOUR, VD_PURPLE, 0, 0),
    L("pink", VD_LEX_COLOUR, VD_PINK, 0, G), L("white", VD_LEX_COLOUR, VD_WHITE, 0, G),
    L("gray", VD_LEX_COLOUR, VD_GRAY, 0, G), L("grey", VD_LEX_COLOUR, VD_GRAY, 0, G),
    L("black", VD_LEX_COLOUR, VD_BLACK, 0, G),
    /* shapes, singular then plural */
    L("ball", VD_LEX_SHAPE, VD_CIRCLE, 0, G), L("circle", VD_LEX_SHAPE, VD_CIRCLE, 0, G),
    L("disc", VD_LEX_SHAPE, VD_CIRCLE, 0, G), L("disk", VD_LEX_SHAPE, VD_CIRCLE, 0, 0),
    L("dot", VD_LEX_SHAPE, VD_CIRCLE, 0, G), L("sphere", VD_LEX_SHAPE, VD_CIRCLE, 0, 0),
    L("orb", VD_LEX_SHAPE, VD_CIRCLE, 0, 0),
    L("square", VD_LEX_SHAPE, VD_SQUARE, 0, G), L("box", VD_LEX_SHAPE, VD_SQUARE, 0, G),
    L("block", VD_LEX_SHAPE, VD_SQUARE, 0, G), L("cube", VD_LEX_SHAPE, VD_SQUARE, 0, 0),
    L("tile", VD_LEX_SHAPE, VD_SQUARE, 0, 0),
    L("triangle", VD_LEX_SHAPE, VD_TRIANGLE, 0, G), L("wedge", VD_LEX_SHAPE, VD_TRIANGLE, 0, G),
    L("pyramid", VD_LEX_SHAPE, VD_TRIANGLE, 0, 0),
    L("balls", VD_LEX_SHAPE, VD_CIRCLE, 1, 0), L("circles", VD_LEX_SHAPE, VD_CIRCLE, 1, 0),
    L("discs", VD_LEX_SHAPE, VD_CIRCLE, 1, 0), L("disks", VD_LEX_SHAPE, VD_CIRCLE, 1, 0),
    L("dots", VD_LEX_SHAPE, VD_CIRCLE, 1, 0), L("spheres", VD_LEX_SHAPE, VD_CIRCLE, 1, 0),
    L("squares", VD_LEX_SHAPE, VD_SQUARE, 1, 0), L("boxes", VD_LEX_SHAPE, VD_SQUARE, 1, 0),
    L("blocks", VD_LEX_SHAPE, VD_SQUARE, 1, 0), L("cubes", VD_LEX_SHAPE, VD_SQUARE, 1, 0),
    L("tiles", VD_LEX_SHAPE, VD_SQUARE, 1, 0),
    L("triangles", VD_LEX_SHAPE, VD_TRIANGLE, 1, 0), L("wedges", VD_LEX_SHAPE, VD_TRIANGLE, 1, 0),
    L("object", VD_LEX_THING, -1, 0, 0), L("objects", VD_LEX_THING, -1, 1, 0),
    L("shape", VD_LEX_THING, -1, 0, 0), L("shapes", VD_LEX_THING, -1, 1, 0),
    L("thing", VD_LEX_THING, -1, 0, 0), L("things", VD_LEX_THING, -1, 1, 0),
    /* sizes */
    L("small", VD_LEX_SIZE, VD_SMALL, 0, G), L("tiny", VD_LEX_SIZE, VD_SMALL, 0, G),
    L("little", VD_LEX_SIZE, VD_SMALL, 0, G), L("medium-sized", VD_LEX_SIZE, VD_MEDIUM, 0, G),
    L("medium size", VD_LEX_SIZE, VD_MEDIUM, 0, 0), L("mid-sized", VD_LEX_SIZE, VD_MEDIUM, 0, 0),
    L("medium", VD_LEX_SIZE, VD_MEDIUM, 0, G), L("big", VD_LEX_SIZE, VD_LARGE, 0, G),
    L("large", VD_LEX_SIZE, VD_LARGE, 0, G), L("huge", VD_LEX_SIZE, VD_LARGE, 0, 0),
    /* speeds */
    L("slowly", VD_LEX_SPEED, VD_SLOW, 0, G | VD_G_ADV), L("gently", VD_LEX_SPEED, VD_SLOW, 0, G | VD_G_ADV),
    L("leisurely", VD_LEX_SPEED, VD_SLOW, 0, G | VD_G_ADV), L("lazily", VD_LEX_SPEED, VD_SLOW, 0, 0),
    L("slow", VD_LEX_SPEED, VD_SLOW, 0, G | VD_G_ADJ),
    L("quickly", VD_LEX_SPEED, VD_FAST, 0, G | VD_G_ADV), L("rapidly", VD_LEX_SPEED, VD_FAST, 0, G | VD_G_ADV),
    L("swiftly", VD_LEX_SPEED, VD_FAST, 0, G | VD_G_ADV), L("fast", VD_LEX_SPEED, VD_FAST, 0, G | VD_G_ADV | VD_G_ADJ),
    L("quick", VD_LEX_SPEED, VD_FAST, 0, G | VD_G_ADJ), L("speedily", VD_LEX_SPEED, VD_FAST, 0, 0),
    L("speedy", VD_LEX_SPEED, VD_FAST, 0, 0),
    /* direction words: phrases such as "up and to the left" combine them */
    L("right", VD_LEX_DIR, VD_RIGHT, 0, 0), L("rightward", VD_LEX_DIR, VD_RIGHT, 0, 0),
    L("rightwards", VD_LEX_DIR, VD_RIGHT, 0, 0), L("left", VD_LEX_DIR, VD_LEFT, 0, 0),
    L("leftward", VD_LEX_DIR, VD_LEFT, 0, 0), L("leftwards", VD_LEX_DIR, VD_LEFT, 0, 0),
    L("up", VD_LEX_DIR, VD_UP, 0, 0), L("upward", VD_LEX_DIR, VD_UP, 0, 0),
    L("upwards", VD_LEX_DIR, VD_UP, 0, 0), L("top", VD_LEX_DIR, VD_UP, 0, 0),
    L("upper", VD_LEX_DIR, VD_UP, 0, 0), L("above", VD_LEX_DIR, VD_UP, 0, 0),
    L("down", VD_LEX_DIR, VD_DOWN, 0, 0), L("downward", VD_LEX_DIR, VD_DOWN, 0, 0),
    L("downwards", VD_LEX_DIR, VD_DOWN, 0, 0), L("bottom", VD_LEX_DIR, VD_DOWN, 0, 0),
    L("lower", VD_LEX_DIR, VD_DOWN, 0, 0), L("below", VD_LEX_DIR, VD_DOWN, 0, 0),
    L("from", VD_LEX_FROM, 0, 0, 0),
    /* passing */
    L("in front of", VD_LEX_FRONT, 1, 0, 0), L("behind", VD_LEX_FRONT, 0, 0, 0),
    L("past", VD_LEX_MOTION, VD_PASSING, 3, 0),
    /* motions the verb table does not spell */
    L("still", VD_LEX_MOTION, VD_STILL, 3, 0), L("motionless", VD_LEX_MOTION, VD_STILL, 3, 0),
    L("stationary", VD_LEX_MOTION, VD_STILL, 3, 0), L("static", VD_LEX_MOTION, VD_STILL, 3, 0),
    L("at rest", VD_LEX_MOTION, VD_STILL, 3, 0), L("doesnt move", VD_LEX_MOTION, VD_STILL, 3, 0),
    L("dont move", VD_LEX_MOTION, VD_STILL, 3, 0), L("stands still", VD_LEX_MOTION, VD_STILL, 3, 0),
    L("traveling", VD_LEX_MOTION, VD_LINEAR, 1, 0), L("flies", VD_LEX_MOTION, VD_LINEAR, 1, 0),
    L("fly", VD_LEX_MOTION, VD_LINEAR, 1, 0), L("flying", VD_LEX_MOTION, VD_LINEAR, 1, 0),
    L("comes", VD_LEX_MOTION, VD_LINEAR, 1, 0), L("come", VD_LEX_MOTION, VD_LINEAR, 1, 0),
    L("coming", VD_LEX_MOTION, VD_LINEAR, 1, 0), L("shifts", VD_LEX_MOTION, VD_LINEAR, 1, 0),
    L("shift", VD_LEX_MOTION, VD_LINEAR, 1, 0), L("shifting", VD_LEX_MOTION, VD_LINEAR, 1, 0),
    L("crosses", VD_LEX_MOTION, VD_LINEAR, 1, 0), L("cross", VD_LEX_MOTION, VD_LINEAR, 1, 0),
    L("crossing", VD_LEX_MOTION, VD_LINEAR, 1, 0), L("moved", VD_LEX_MOTION, VD_LINEAR, 1, 0),
    L("dropped", VD_LEX_MOTION, VD_FALLING, 3, 0), L("bounce", VD_LEX_MOTION, VD_FALLING, 2, 0),
    L("bounces", VD_LEX_MOTION, VD_FALLING, 2, 0), L("bouncing", VD_LEX_MOTION, VD_FALLING, 2, 0),
    L("thrown", VD_LEX_MOTION, VD_THROWN, 3, 0), L("throw", VD_LEX_MOTION, VD_THROWN, 3, 0),
    L("tossed", VD_LEX_MOTION, VD_THROWN, 3, 0), L("launched", VD_LEX_MOTION, VD_THROWN, 3, 0),
    L("arc", VD_LEX_MOTION, VD_THROWN, 3, 0), L("parabola", VD_LEX_MOTION, VD_THROWN, 3, 0),
    L("parabolic", VD_LEX_MOTION, VD_THROWN, 3, 0),
    L("collides", VD_LEX_MOTION, VD_COLLIDING, 3, 0), L("collision", VD_LEX_MOTION, VD_COLLIDING, 3, 0),
    L("crash", VD_LEX_MOTION, VD_COLLIDING, 3, 0), L("crashes", VD_LEX_MOTION, VD_COLLIDING, 3, 0),
    L("crashing", VD_LEX_MOTION, VD_COLLIDING, 3, 0), L("bump", VD_LEX_MOTION, VD_COLLIDING, 3, 0),
    L("bumps", VD_LEX_MOTION, VD_COLLIDING, 3, 0), L("bumping", VD_LEX_MOTION, VD_COLLIDING, 3, 0),
    L("hit", VD_LEX_MOTION, VD_COLLIDING, 3, 0), L("hitting", VD_LEX_MOTION, VD_COLLIDING, 3, 0),
    L("into frame", VD_LEX_MOTION, VD_ENTERING, 3, 0), L("into view", VD_LEX_MOTION, VD_ENTERING, 3, 0),
    L("into sight", VD_LEX_MOTION, VD_ENTERING, 3, 0), L("into scene", VD_LEX_MOTION, VD_ENTERING, 3, 0),
    L("into picture", VD_LEX_MOTION, VD_ENTERING, 3, 0),
    L("out of frame", VD_LEX_MOTION, VD_LEAVING, 3, 0), L("out of view", VD_LEX_MOTION, VD_LEAVING, 3, 0),
    L("out of sight", VD_LEX_MOTION, VD_LEAVING, 3, 0), L("out of scene", VD_LEX_MOTION, VD_LEAVING, 3, 0),
    L("out of picture", VD_LEX_MOTION, VD_LEAVING, 3, 0), L("off screen", VD_LEX_MOTION, VD_LEAVING, 3, 0),
    L("offscreen", VD_LEX_MOTION, VD_LEAVING, 3, 0),
    /* background */
    L("background", VD_LEX_BG_NOUN, 0, 0, 0), L("backdrop", VD_LEX_BG_NOUN, 0, 0, 0),
    L("on", VD_LEX_BG_PREP, 0, 0, 0), L("against", VD_LEX_BG_PREP, 0, 0, 0),
    L("over", VD_LEX_BG_PREP, 0, 0, 0), L("upon", VD_LEX_BG_PREP, 0, 0, 0),
    /* counts */
    L("one", VD_LEX_COUNT, 1, 0, 0), L("two", VD_LEX_COUNT, 2, 0, 0), L("three", VD_LEX_COUNT, 3, 0, 0),
    L("1", VD_LEX_COUNT, 1, 0, 0), L("2", VD_LEX_COUNT, 2, 0, 0), L("3", VD_LEX_COUNT, 3, 0, 0),
    L("pair of", VD_LEX_COUNT, 2, 0, 0),
    L("and", VD_LEX_AND, 0, 0, 0), L("plus", VD_LEX_AND, 0, 0, 0), L("then", VD_LEX_AND, 0, 0, 0),
    L("while", VD_LEX_AND, 0, 0, 0),
    /* filler: words that carry nothing for the world */
    L("is", VD_LEX_FILLER, 0, 0, 0), L("are", VD_LEX_FILLER, 0, 0, 0), L("was", VD_LEX_FILLER, 0, 0, 0),
    L("be", VD_LEX_FILLER, 0, 0, 0), L("being", VD_LEX_FILLER, 0, 0, 0), L("that", VD_LEX_FILLER, 0, 0, 0),
    L("which", VD_LEX_FILLER, 0, 0, 0), L("who", VD_LEX_FILLER, 0, 0, 0), L("with", VD_LEX_FILLER, 0, 0, 0),
    L("its", VD_LEX_FILLER, 0, 0, 0), L("it", VD_LEX_FILLER, 0, 0, 0), L("of", VD_LEX_FILLER, 0, 0, 0),
    L("in", VD_LEX_FILLER, 0, 0, 0), L("to", VD_LEX_FILLER, 0, 0, 0), L("towards", VD_LEX_FILLER, 0, 0, 0),
    L("toward", VD_LEX_FILLER, 0, 0, 0), L("through", VD_LEX_FILLER, 0, 0, 0), L("off", VD_LEX_FILLER, 0, 0, 0),
    L("out", VD_LEX_FILLER, 0, 0, 0), L("into", VD_LEX_FILLER, 0, 0, 0), L("as", VD_LEX_FILLER, 0, 0, 0),
    L("at", VD_LEX_FILLER, 0, 0, 0), L("there", VD_LEX_FILLER, 0, 0, 0), L("here", VD_LEX_FILLER, 0, 0, 0),
    L("frame", VD_LEX_FILLER, 0, 0, 0), L("view", VD_LEX_FILLER, 0, 0, 0), L("screen", VD_LEX_FILLER, 0, 0, 0),
    L("scene", VD_LEX_FILLER, 0, 0, 0), L("picture", VD_LEX_FILLER, 0, 0, 0), L("video", VD_LEX_FILLER, 0, 0, 0),
    L("clip", VD_LEX_FILLER, 0, 0, 0), L("image", VD_LEX_FILLER, 0, 0, 0), L("shows", VD_LEX_FILLER, 0, 0, 0),
    L("showing", VD_LEX_FILLER, 0, 0, 0), L("shown", VD_LEX_FILLER, 0, 0, 0), L("we", VD_LEX_FILLER, 0, 0, 0),
    L("see", VD_LEX_FILLER, 0, 0, 0), L("colour", VD_LEX_FILLER, 0, 0, 0), L("color", VD_LEX_FILLER, 0, 0, 0),
    L("coloured", VD_LEX_FILLER, 0, 0, 0), L("colored", VD_LEX_FILLER, 0, 0, 0), L("plain", VD_LEX_FILLER, 0, 0, 0),
    L("solid", VD_LEX_FILLER, 0, 0, 0), L("side", VD_LEX_FILLER, 0, 0, 0), L("edge", VD_LEX_FILLER, 0, 0, 0),
    L("corner", VD_LEX_FILLER, 0, 0, 0), L("hand", VD_LEX_FILLER, 0, 0, 0), L("diagonally", VD_LEX_FILLER, 0, 0, 0),
    L("direction", VD_LEX_FILLER, 0, 0, 0), L("way", VD_LEX_FILLER, 0, 0, 0), L("floor", VD_LEX_FILLER, 0, 0, 0),
    L("ground", VD_LEX_FILLER, 0, 0, 0), L("each", VD_LEX_FILLER, 0, 0, 0), L("other", VD_LEX_FILLER, 0, 0, 0),
    L("both", VD_LEX_FILLER, 0, 0, 0), L("also", VD_LEX_FILLER, 0, 0, 0), L("very", VD_LEX_FILLER, 0, 0, 0),
    L("set", VD_LEX_FILLER, 0, 0, 0), L("just", VD_LEX_FILLER, 0, 0, 0), L("across", VD_LEX_FILLER, 0, 0, 0),
    L("along", VD_LEX_FILLER, 0, 0, 0), L("around", VD_LEX_FILLER, 0, 0, 0), L("sized", VD_LEX_FILLER, 0, 0, 0),
    L("shaped", VD_LEX_FILLER, 0, 0, 0), L("whole", VD_LEX_FILLER, 0, 0, 0), L("entire", VD_LEX_FILLER, 0, 0, 0),
};
const size_t vd_lexicon_count = sizeof vd_lexicon / sizeof vd_lexicon[0];

#define V(sg, pl, ing, motion, strength, dir, flags) {sg, pl, ing, motion, strength, dir, flags}
#define GD (VD_V_GEN | VD_V_DIR)
const vd_verb_entry vd_verbs[] = {
    V("sits still", "sit still", "sitting still", VD_STILL, 3, 0, VD_V_GEN),
    V("is still", "are still", "standing still", VD_STILL, 3, 0, VD_V_GEN),
    V("stays still", "stay still", "staying still", VD_STILL, 3, 0, VD_V_GEN),
    V("rests", "rest", "resting", VD_STILL, 2, 0, VD_V_GEN),
    V("sits", "sit", "sitting", VD_STILL, 2, 0, VD_V_GEN),
    V("stays put", "stay put", "staying put", VD_STILL, 3, 0, VD_V_GEN),
    V("does not move", "do not move", "not moving", VD_STILL, 3, 0, VD_V_GEN),
    V("is motionless", "are motionless", "sitting motionless", VD_STILL, 3, 0, VD_V_GEN),
    V("stays in place", "stay in place", "staying in place", VD_STILL, 3, 0, VD_V_GEN),
    V("remains still", "remain still", "remaining still", VD_STILL, 3, 0, VD_V_GEN),
    V("is stationary", "are stationary", "stationary", VD_STILL, 3, 0, VD_V_GEN),

    V("moves", "move", "moving", VD_LINEAR, 1, 0, GD | VD_V_PASS),
    V("slides", "slide", "sliding", VD_LINEAR, 1, 0, GD | VD_V_PASS),
    V("rolls", "roll", "rolling", VD_LINEAR, 1, 0, GD | VD_V_CIRCLE | VD_V_PASS),
    V("drifts", "drift", "drifting", VD_LINEAR, 1, 0, GD | VD_V_PASS),
    V("travels", "travel", "travelling", VD_LINEAR, 1, 0, GD | VD_V_PASS),
    V("glides", "glide", "gliding", VD_LINEAR, 1, 0, GD | VD_V_PASS),
    V("heads", "head", "heading", VD_LINEAR, 1, 0, GD),
    V("floats", "float", "floating", VD_LINEAR, 1, 0, GD),
    V("goes", "go", "going", VD_LINEAR, 1, 0, VD_V_DIR | VD_V_PASS),
    V("rises", "rise", "rising", VD_LINEAR, 1, VD_UP, VD_V_GEN),
    V("climbs", "climb", "climbing", VD_LINEAR, 1, VD_UP, VD_V_GEN),
    V("sinks", "sink", "sinking", VD_LINEAR, 1, VD_DOWN, VD_V_GEN),
    V("descends", "descend", "descending", VD_LINEAR, 1, VD_DOWN, VD_V_GEN),

    V("falls and bounces", "fall and bounce", "falling and bouncing", VD_FALLING, 3, VD_DOWN, VD_V_GEN),
    V("drops and bounces", "drop and bounce", "dropping and bouncing", VD_FALLING, 3, VD_DOWN, VD_V_GEN),
    V("falls to the floor and bounces", "fall to the floor and bounce",
      "falling to the floor and bouncing", VD_FALLING, 3, VD_DOWN, VD_V_GEN),
    V("falls", "fall", "falling", VD_FALLING, 3, VD_DOWN, VD_V_GEN),
    V("drops", "drop", "dropping", VD_FALLING, 3, VD_DOWN, VD_V_GEN),
    V("is dropped", "are dropped", "dropped", VD_FALLING, 3, VD_DOWN, VD_V_GEN),
    V("bounces on the floor", "bounce on the floor", "bouncing on the floor", VD_FALLING, 2,
      VD_DOWN, VD_V_GEN),
    V("tumbles down", "tumble down", "tumbling down", VD_FALLING, 3, VD_DOWN, VD_V_GEN),

    V("is thrown", "are thrown", "thrown", VD_THROWN, 3, 0, GD),
    V("is tossed", "are tossed", "tossed", VD_THROWN, 3, 0, GD),
    V("is launched", "are launched", "launched", VD_THROWN, 3, 0, GD),
    V("is hurled", "are hurled", "hurled", VD_THROWN, 3, 0, GD),
    V("flies in an arc", "fly in an arc", "flying in an arc", VD_THROWN, 3, 0, GD),
    V("arcs", "arc", "arcing", VD_THROWN, 3, 0, GD),

    V("collides with", "collide", "colliding", VD_COLLIDING, 3, 0, VD_V_GEN),
    V("crashes into", "crash into each other", "crashing into each other", VD_COLLIDING, 3, 0, VD_V_GEN),
    V("bumps into", "bump into each other", "bumping into each other", VD_COLLIDING, 3, 0, VD_V_GEN),
    V("bounces off", "bounce off each other", "bouncing off each other", VD_COLLIDING, 3, 0, VD_V_GEN),
    V("hits", "hit each other", "hitting each other", VD_COLLIDING, 3, 0, VD_V_GEN),
    V("runs into", "run into each other", "running into each other", VD_COLLIDING, 3, 0, VD_V_GEN),

    V("passes", "pass", "passing", VD_PASSING, 3, 0, VD_V_GEN | VD_V_PASS),

    V("enters", "enter", "entering", VD_ENTERING, 3, 0, VD_V_GEN | VD_V_FROM),
    V("enters the frame", "enter the frame", "entering the frame", VD_ENTERING, 3, 0,
      VD_V_GEN | VD_V_FROM),
    V("comes in", "come in", "coming in", VD_ENTERING, 3, 0, VD_V_GEN | VD_V_FROM),
    V("slides in", "slide in", "sliding in", VD_ENTERING, 3, 0, VD_V_GEN | VD_V_FROM),
    V("moves into view", "move into view", "moving into view", VD_ENTERING, 3, 0,
      VD_V_GEN | VD_V_FROM),
    V("appears", "appear", "appearing", VD_ENTERING, 3, 0, VD_V_GEN | VD_V_FROM),

    V("leaves", "leave", "leaving", VD_LEAVING, 3, 0, GD),
    V("leaves the frame", "leave the frame", "leaving the frame", VD_LEAVING, 3, 0, GD),
    V("exits", "exit", "exiting", VD_LEAVING, 3, 0, GD),
    V("exits the frame", "exit the frame", "exiting the frame", VD_LEAVING, 3, 0, GD),
    V("moves out of view", "move out of view", "moving out of view", VD_LEAVING, 3, 0, GD),
    V("slides out of the frame", "slide out of the frame", "sliding out of the frame",
      VD_LEAVING, 3, 0, GD),
    V("disappears", "disappear", "disappearing", VD_LEAVING, 3, 0, GD),
};
const size_t vd_verbs_count = sizeof vd_verbs / sizeof vd_verbs[0];

#define P(text, value) {text, value}
const vd_phrase_entry vd_dir_phrases[] = {
    P("right", VD_RIGHT), P("to the right", VD_RIGHT), P("rightward", VD_RIGHT),
    P("rightwards", VD_RIGHT), P("towards the right", VD_RIGHT), P("toward the right", VD_RIGHT),
    P("left", VD_LEFT), P("to the left", VD_LEFT), P("leftward", VD_LEFT),
    P("leftwards", VD_LEFT), P("towards the left", VD_LEFT), P("toward the left", VD_LEFT),
    P("up", VD_UP), P("upward", VD_UP), P("upwards", VD_UP), P("towards the top", VD_UP),
    P("down", VD_DOWN), P("downward", VD_DOWN), P("downwards", VD_DOWN),
    P("towards the bottom", VD_DOWN),
    P("up and to the right", VD_UP_RIGHT), P("diagonally up and to the right", VD_UP_RIGHT),
    P("towards the top right", VD_UP_RIGHT), P("up-right", VD_UP_RIGHT),
    P("to the upper right", VD_UP_RIGHT),
    P("up and to the left", VD_UP_LEFT), P("diagonally up and to the left", VD_UP_LEFT),
    P("towards the top left", VD_UP_LEFT), P("up-left", VD_UP_LEFT),
    P("to the upper left", VD_UP_LEFT),
    P("down and to the right", VD_DOWN_RIGHT), P("diagonally down and to the right", VD_DOWN_RIGHT),
    P("towards the bottom right", VD_DOWN_RIGHT), P("down-right", VD_DOWN_RIGHT),
    P("to the lower right", VD_DOWN_RIGHT),
    P("down and to the left", VD_DOWN_LEFT), P("diagonally down and to the left", VD_DOWN_LEFT),
    P("towards the bottom left", VD_DOWN_LEFT), P("down-left", VD_DOWN_LEFT),
    P("to the lower left", VD_DOWN_LEFT),
};
const size_t vd_dir_phrases_count = sizeof vd_dir_phrases / sizeof vd_dir_phrases[0];

const vd_phrase_entry vd_from_phrases[] = {
    P("from the left", VD_LEFT), P("from the left side", VD_LEFT), P("from the left edge", VD_LEFT),
    P("from the right", VD_RIGHT), P("from the right side", VD_RIGHT),
    P("from the right edge", VD_RIGHT),
    P("from the top", VD_UP), P("from above", VD_UP), P("from the top edge", VD_UP),
    P("from the bottom", VD_DOWN), P("from below", VD_DOWN), P("from the bottom edge", VD_DOWN),
};
const size_t vd_from_phrases_count = sizeof vd_from_phrases / sizeof vd_from_phrases[0];

const vd_phrase_entry vd_exit_phrases[] = {
    P("to the left", VD_LEFT), P("off to the left", VD_LEFT), P("through the left edge", VD_LEFT),
    P("towards the left", VD_LEFT), P("on the left side", VD_LEFT),
    P("to the right", VD_RIGHT), P("off to the right", VD_RIGHT),
    P("through the right edge", VD_RIGHT), P("towards the right", VD_RIGHT),
    P("on the right side", VD_RIGHT),
    P("through the top", VD_UP), P("upwards", VD_UP), P("off the top edge", VD_UP),
    P("towards the top", VD_UP),
    P("through the bottom", VD_DOWN), P("downwards", VD_DOWN), P("off the bottom edge", VD_DOWN),
    P("towards the bottom", VD_DOWN),
};
const size_t vd_exit_phrases_count = sizeof vd_exit_phrases / sizeof vd_exit_phrases[0];

const char *const vd_bg_phrases[] = {
    "on a %s background", "against a %s background", "over a %s backdrop",
    "on a plain %s background", "against %s", "over %s", "on %s",
    "with a %s background", "set against a %s backdrop", "on a %s backdrop",
};
const size_t vd_bg_phrases_count = sizeof vd_bg_phrases / sizeof vd_bg_phrases[0];

const vd_phrase_entry vd_front_phrases[] = {P("in front of", 1), P("behind", 0)};
const size_t vd_front_phrases_count = sizeof vd_front_phrases / sizeof vd_front_phrases[0];

const char *const vd_templates_single[] = {
    "{S} {V} {B}", "{S} {V} {B}", "{B}, {S} {V}", "{S} {I} {B}", "{S} {B} {V}",
    "{B}: {S} {I}",
};
const size_t vd_templates_single_count = sizeof vd_templates_single / sizeof vd_templates_single[0];

const char *const vd_templates_collide[] = {
    "{A} and {O} {R} {B}", "{B}, {A} and {O} {R}", "{A} {T} {O} {B}",
    "{B}, {A} {T} {O}", "{A} and {O} {RI} {B}",
};
const size_t vd_templates_collide_count = sizeof vd_templates_collide / sizeof vd_templates_collide[0];

const char *const vd_templates_pass[] = {
    "{A} {P} {O} {B}", "{B}, {A} {P} {O}", "{A} {PI} {O} {B}",
};
const size_t vd_templates_pass_count = sizeof vd_templates_pass / sizeof vd_templates_pass[0];

int vd_grammar_is_article(const char *word, size_t len) {
    return (len == 1 && word[0] == 'a') || (len == 2 && !memcmp(word, "an", 2)) ||
           (len == 3 && !memcmp(word, "the", 3));
}
