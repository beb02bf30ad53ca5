/*  tu_db: see tu_db.h. */
#include "tu_db.h"

#include "db_borrow.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>

#define TU_DB_MAX 64 /* connections a test holds at once */

static struct {
    void *handle;
    db_t *db;
} s_views[TU_DB_MAX];

db_t *tu_db(void *handle)
{
    size_t free_slot = TU_DB_MAX;
    for (size_t i = 0; i < TU_DB_MAX; i++) {
        if (s_views[i].handle == handle && s_views[i].db)
            return s_views[i].db;
        if (!s_views[i].db && free_slot == TU_DB_MAX)
            free_slot = i;
    }
    db_t *db = free_slot < TU_DB_MAX ? db_borrow_embedded(handle) : NULL;
    if (!db) {
        fprintf(stderr, "tu_db: no view of the test's connection\n");
        abort();
    }
    s_views[free_slot].handle = handle;
    s_views[free_slot].db = db;
    return db;
}

void tu_sqlite_close(void *handle)
{
    for (size_t i = 0; i < TU_DB_MAX; i++)
        if (s_views[i].handle == handle && s_views[i].db) {
            db_close(&s_views[i].db);
            s_views[i].handle = NULL;
        }
    sqlite3_close(handle);
}
