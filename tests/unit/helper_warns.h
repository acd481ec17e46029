/* helper_warns.h: collecting the warnings a database parser gives (the
 * dbline_warn_fn of src/db/dbline.h), for tests that check them. */
#ifndef TEST_HELPER_WARNS_H
#define TEST_HELPER_WARNS_H

#define WARNS_MAX 32

struct warns {
  int n;                       /* warnings given (may exceed WARNS_MAX) */
  char msg[WARNS_MAX][256];    /* the first WARNS_MAX of them */
};

/* A dbline_warn_fn: ctx is a struct warns. */
void warns_collect(void *ctx, const char *msg);

#endif
