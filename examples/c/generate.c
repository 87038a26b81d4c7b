/* A C program embedding the ssm runtime to generate ids from a model
 * artifact (ssmc <checkpoint dir>): greedy decoding of N new tokens after a
 * prompt, through the runtime's model API (ssm/model.h): the model loaded
 * with its checkpoint's weights, a session carrying the states from the
 * prefill through each decode step.
 *
 *   ssm-example-generate ARTIFACT_DIR CHECKPOINT_DIR N ID [ID...]
 *
 * Only the public C API is used. */
#include <ssm/model.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

static int report(ssm_status_t status, const char *what) {
  if (!status)
    return 0;
  fprintf(stderr, "ssm-example-generate: %s: %s\n", what,
          ssm_status_message(status));
  ssm_status_free(status);
  return 1;
}

/* Prints each id as it comes. */
static int print_id(void *user, int64_t step, const int64_t *ids,
                    int64_t batch) {
  (void)user;
  (void)step;
  (void)batch;
  printf(" %lld", (long long)ids[0]);
  fflush(stdout);
  return 0;
}

int main(int argc, char **argv) {
  if (argc < 5) {
    fprintf(stderr,
            "usage: %s ARTIFACT_DIR CHECKPOINT_DIR N ID [ID...]\n"
            "  greedy generation of N ids after the prompt IDs\n",
            argv[0]);
    return 2;
  }
  long long count = atoll(argv[3]);
  if (count < 1) {
    fprintf(stderr, "ssm-example-generate: N must be at least 1\n");
    return 2;
  }
  int64_t length = argc - 4;
  int64_t *prompt = malloc((size_t)length * sizeof(int64_t));
  int64_t *generated = malloc((size_t)count * sizeof(int64_t));
  if (!prompt || !generated)
    return 2;
  int status = 2;
  for (int64_t i = 0; i < length; ++i) {
    char *end = NULL;
    prompt[i] = strtoll(argv[4 + i], &end, 10);
    if (!end || *end || end == argv[4 + i]) {
      fprintf(stderr, "ssm-example-generate: '%s' is not an id\n",
              argv[4 + i]);
      goto done;
    }
  }

  ssm_model_t *model = NULL;
  ssm_session_t *session = NULL;
  if (report(ssm_model_load(argv[1], argv[2], NULL, &model), argv[1]) ||
      report(ssm_session_create(model, &session), "session"))
    goto release;
  printf("prompt:");
  for (int64_t i = 0; i < length; ++i)
    printf(" %lld", (long long)prompt[i]);
  printf("\ngenerated:");
  /* An id outside the vocabulary is refused here, before anything runs. */
  if (report(ssm_session_generate(session, prompt, 1, length, count, generated,
                                  print_id, NULL),
             "generate")) {
    printf("\n");
    goto release;
  }
  printf("\n");
  status = 0;

release:
  ssm_session_release(session);
  ssm_model_release(model);
done:
  free(prompt);
  free(generated);
  return status;
}
