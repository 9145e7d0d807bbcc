#ifndef TOKENTOP_CNCURSES_SHIM_H
#define TOKENTOP_CNCURSES_SHIM_H

/* The wide-character API (wget_wch, cchar_t) is declared only under X/Open extended curses. */
#ifndef _XOPEN_SOURCE_EXTENDED
#define _XOPEN_SOURCE_EXTENDED 1
#endif

#include <locale.h>
#include <stdio.h>
#include <wchar.h>
#include <ncursesw/curses.h>

/* Swift cannot import function-like macros, bit-building macros or ncurses' shared globals;
   these wrappers expose them as plain functions. */

static inline attr_t tt_a_normal(void) { return A_NORMAL; }
static inline attr_t tt_a_bold(void) { return A_BOLD; }
static inline attr_t tt_a_reverse(void) { return A_REVERSE; }
static inline attr_t tt_a_dim(void) { return A_DIM; }
static inline attr_t tt_a_underline(void) { return A_UNDERLINE; }
static inline attr_t tt_color_pair(int pair) { return (attr_t)COLOR_PAIR(pair); }

static inline WINDOW *tt_stdscr(void) { return stdscr; }
static inline int tt_lines(void) { return LINES; }
static inline int tt_cols(void) { return COLS; }
static inline int tt_colors(void) { return COLORS; }
static inline int tt_color_pairs(void) { return COLOR_PAIRS; }
static inline FILE *tt_stdin(void) { return stdin; }
static inline FILE *tt_stdout(void) { return stdout; }

static inline void tt_getmaxyx(WINDOW *win, int *rows, int *cols) {
    int y = 0, x = 0;
    getmaxyx(win, y, x);
    *rows = y;
    *cols = x;
}

/* Sets the attributes and colour pair for the next output; wattr_set is a macro in some builds. */
static inline int tt_set_style(WINDOW *win, attr_t attrs, int pair) {
    return wattr_set(win, attrs, (NCURSES_PAIRS_T)pair, NULL);
}

/* Reads one key or character within timeout_ms; returns OK, KEY_CODE_YES or ERR (timeout). */
static inline int tt_read_key(WINDOW *win, int timeout_ms, unsigned int *out) {
    wint_t ch = 0;
    wtimeout(win, timeout_ms);
    int result = wget_wch(win, &ch);
    *out = (unsigned int)ch;
    return result;
}

/* How many cells the terminal gives one character in the current locale; wcwidth is declared only under
   X/Open, which the system headers were not built with. */
extern int wcwidth(wchar_t c);
static inline int tt_wcwidth(unsigned int c) { return wcwidth((wchar_t)c); }

static inline int tt_ok(void) { return OK; }
static inline int tt_err(void) { return ERR; }
static inline int tt_key_code_yes(void) { return KEY_CODE_YES; }
static inline int tt_key_up(void) { return KEY_UP; }
static inline int tt_key_down(void) { return KEY_DOWN; }
static inline int tt_key_left(void) { return KEY_LEFT; }
static inline int tt_key_right(void) { return KEY_RIGHT; }
static inline int tt_key_home(void) { return KEY_HOME; }
static inline int tt_key_end(void) { return KEY_END; }
static inline int tt_key_npage(void) { return KEY_NPAGE; }
static inline int tt_key_ppage(void) { return KEY_PPAGE; }
static inline int tt_key_enter(void) { return KEY_ENTER; }
static inline int tt_key_backspace(void) { return KEY_BACKSPACE; }
static inline int tt_key_dc(void) { return KEY_DC; }
static inline int tt_key_btab(void) { return KEY_BTAB; }
static inline int tt_key_resize(void) { return KEY_RESIZE; }

/* terminfo's string capability NAME for the terminal set up last (setupterm, newterm); declared here rather
   than through term.h, whose macros (lines, columns) would shadow ordinary names. NULL: absent; (char *)-1: not
   a string capability. */
extern char *tigetstr(const char *name);

/* term.h's setup, declared here for the same reason. */
struct term;
extern int setupterm(const char *name, int descriptor, int *error);
extern int del_curterm(struct term *terminal);
extern struct term *cur_term;

/* Whether the terminal type in TERM can draw a dashboard, asked before anything is opened or created: 1 when
   terminfo knows it and it can place the cursor, 0 when it cannot place the cursor (TERM=dumb), -1 when terminfo
   does not know it. Reads the terminfo entry only; writes nothing to the terminal. */
static inline int tt_probe_terminal(int descriptor) {
    int error = 0;
    if (setupterm(NULL, descriptor, &error) != 0) return -1;
    char *cup = tigetstr("cup");
    int can = cup != NULL && cup != (char *)-1;
    del_curterm(cur_term);
    return can ? 1 : 0;
}


#endif
