/*  tu_browser: Debian's headless Chromium for the tests of the pages the
    tools write (the audit report, the case agenda): the DOM as the browser
    built it, a screenshot, and the console problems it logged. Each run
    gets its own profile under `dir`, is bounded in time, and its process
    group is ended afterwards. Tests only; no Criterion calls in here. */
#ifndef HARTSLAG_TU_BROWSER_H
#define HARTSLAG_TU_BROWSER_H

#define TU_BROWSER_CHROMIUM "/usr/bin/chromium"
#define TU_BROWSER_TIMEOUT_S 60

/* Loads the file `html` and puts the DOM in *dom, Chromium's stderr in
   *log (both malloc'd, may be NULL on failure). Returns Chromium's exit
   code, or -1 (timeout, crash, cannot start). */
int tu_browser_dump_dom(const char *dir, const char *html, char **dom, char **log);

/* Loads `html` and saves a screenshot of `width`x`height` at `png`. */
int tu_browser_screenshot(const char *dir, const char *html, const char *png, int width, int height,
                          char **log);

/* The first sign of a page problem in Chromium's log (a console message,
   a Content-Security-Policy refusal, a failed load), or NULL. */
const char *tu_browser_console_error(const char *log);

#endif
