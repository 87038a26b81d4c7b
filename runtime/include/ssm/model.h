/* ssm runtime, models: a model artifact (ssmc <checkpoint dir>) loaded with
 * its weights, and sessions that carry a batch of sequences' states from
 * call to call: prefill (whole or in chunks), decode, greedy generation.
 * The conventions of runtime.h (status values, handles, out_ last). The
 * artifact's functions follow ssm/contract/model.h. */
#ifndef SSM_MODEL_H
#define SSM_MODEL_H

#include <ssm/runtime.h>

#ifdef __cplusplus
extern "C" {
#endif

/* A model: its module and its weights, mapped once and checked against
 * every entry point. Immutable once loaded: any number of sessions, from
 * any number of threads, may use one model. Reference-counted. */
typedef struct ssm_model_s ssm_model_t;
/* The states of a batch of sequences (conv and SSM states, attention
 * caches). One thread at a time per session. */
typedef struct ssm_session_s ssm_session_t;

/* Loads the model artifact `artifact_dir` (ssm_module_load_with_options;
 * `options` may be NULL) and binds `weights_path` (a model.safetensors, or
 * a checkpoint directory holding one): every weight each entry point takes
 * must be there with its dtype and shape, and every tensor there must be a
 * weight of the model; a violation is an error naming the tensor (NOT_FOUND
 * for a missing one, INVALID_ARGUMENT otherwise). The file stays mapped;
 * tensors the mapping does not align to their element size are copied
 * once. INVALID_ARGUMENT also when the artifact lacks an entry point of
 * ssm/contract/model.h or its signature does not follow it. */
ssm_status_t ssm_model_load(const char *artifact_dir, const char *weights_path,
                            const ssm_module_options_t *options,
                            ssm_model_t **out_model);
void ssm_model_retain(ssm_model_t *model);
/* Accepts NULL. */
void ssm_model_release(ssm_model_t *model);
/* The vocabulary size (the logits' last dim). */
int64_t ssm_model_vocab_size(const ssm_model_t *model);
/* The model's module (borrowed). */
const ssm_module_t *ssm_model_module(const ssm_model_t *model);

/* A session with empty states; it keeps `model` alive. */
ssm_status_t ssm_session_create(ssm_model_t *model,
                                ssm_session_t **out_session);
/* Accepts NULL. */
void ssm_session_release(ssm_session_t *session);
/* Empties the states: the next call starts new sequences (of any batch). */
void ssm_session_reset(ssm_session_t *session);
/* Positions the session's sequences have seen since the last reset. */
int64_t ssm_session_length(const ssm_session_t *session);

/* Runs `ids` ([batch, length] row-major, each in [0, vocab)) from the
 * session's states (prefill when they are empty, then prefill_chunk, or
 * decode for one position) and keeps the states it leaves. Writes the
 * logits [batch, length, vocab] (f32) to `out_logits`, which has room for
 * `out_logits_capacity` floats (NULL with capacity 0: the logits are not
 * wanted). INVALID_ARGUMENT, running nothing, for an id outside the
 * vocabulary (naming it and its position), an empty prompt, a batch other
 * than the session's, or too little room. */
ssm_status_t ssm_session_forward(ssm_session_t *session, const int64_t *ids,
                                 int64_t batch, int64_t length,
                                 float *out_logits,
                                 size_t out_logits_capacity);

/* Called after each generated position with the ids just chosen (one per
 * sequence); a nonzero return stops the generation there. */
typedef int (*ssm_generate_callback_t)(void *user, int64_t step,
                                       const int64_t *ids, int64_t batch);

/* Greedy generation: `prompt` [batch, length] through ssm_session_forward,
 * then up to `max_new_tokens` positions, each the argmax of the last
 * logits, fed back by decode steps. Writes the new ids to `out_ids`
 * [batch, max_new_tokens] (positions not generated after a stop are -1);
 * `callback` may be NULL. */
ssm_status_t ssm_session_generate(ssm_session_t *session, const int64_t *prompt,
                                  int64_t batch, int64_t length,
                                  int64_t max_new_tokens, int64_t *out_ids,
                                  ssm_generate_callback_t callback, void *user);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* SSM_MODEL_H */
