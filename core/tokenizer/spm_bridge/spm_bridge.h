/* The C ABI of libkanana_spm_bridge.so: SentencePiece behind plain buffers.
 *
 * Debian's libsentencepiece carries its own protobuf-lite, which crashes a process that also
 * loads LibTorch's protobuf (DESIGN.md, "SentencePiece and LibTorch crash"). The bridge is
 * therefore loaded with dlmopen(LM_ID_NEWLM) into its own link-map namespace, which has its
 * own libc heap: every buffer the bridge returns must be released with kanana_spm_free, and
 * no C++ object crosses this boundary. Only core/tokenizer/sentencepiece.cpp includes this.
 *
 * Functions returning int return 0 on success and -1 on failure; the failure's message is
 * kanana_spm_last_error() (per thread).
 */
#ifndef KANANA_SPM_BRIDGE_H
#define KANANA_SPM_BRIDGE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define KANANA_SPM_BRIDGE_ABI 1

/* Piece type bits returned by kanana_spm_piece_type. */
#define KANANA_SPM_CONTROL 1
#define KANANA_SPM_BYTE 2
#define KANANA_SPM_UNKNOWN 4
#define KANANA_SPM_UNUSED 8

/* Which special id kanana_spm_special_id returns; -1 when the model has none. */
#define KANANA_SPM_BOS 0
#define KANANA_SPM_EOS 1
#define KANANA_SPM_UNK 2
#define KANANA_SPM_PAD 3

int kanana_spm_abi_version(void);
const char* kanana_spm_last_error(void);
const char* kanana_spm_library_version(void);
void kanana_spm_free(void* buffer);

/* A loaded model (opaque). The serialized ModelProto bytes are copied. */
void* kanana_spm_load(const char* model, size_t model_size);
void kanana_spm_destroy(void* model);

int kanana_spm_encode(const void* model, const char* text, size_t text_size, int32_t** ids, size_t* count);
int kanana_spm_decode(const void* model, const int32_t* ids, size_t count, char** text, size_t* text_size);
int32_t kanana_spm_vocab_size(const void* model);
/* *piece points into the model and stays valid until kanana_spm_destroy. */
int kanana_spm_id_to_piece(const void* model, int32_t id, const char** piece, size_t* piece_size);
/* The id of an exact piece, or -1 when the vocabulary has no such piece. */
int32_t kanana_spm_piece_to_id(const void* model, const char* piece, size_t piece_size);
int32_t kanana_spm_special_id(const void* model, int which);
int kanana_spm_piece_type(const void* model, int32_t id);

/* Train a model. `options` is a sequence of NUL-terminated key, value strings (SentencePiece
 * trainer flag names without dashes: "input", "vocab_size", "model_type" ...), `options_size`
 * bytes in all. On success *model holds the serialized .model bytes. Training logs go to
 * stderr only when verbose is non-zero. */
int kanana_spm_train(const char* options, size_t options_size, int verbose, char** model, size_t* model_size);

#ifdef __cplusplus
}
#endif

#endif /* KANANA_SPM_BRIDGE_H */
