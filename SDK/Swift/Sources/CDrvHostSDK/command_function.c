/*
 * Swift cannot write a C function for each command signature a plugin
 * declares, and the host calls each command through its real signature
 * (f64 in floating-point registers, narrow integers as the ABI passes
 * them). libffi's closures make such a function at run time: it decodes
 * the arguments by the signature and hands them to one Swift entry point.
 */
#include "CDrvHostSDK.h"

#include <ffi.h>
#include <stdlib.h>
#include <string.h>

struct command_function {
	ffi_cif cif;
	ffi_type *types[DH_COMMAND_MAX_ARGS + 2];
	uint32_t kinds[DH_COMMAND_MAX_ARGS + 2];
	uint32_t result;
	cdhs_command_body body;
	void *user;
};

static ffi_type *ffi_type_of(uint32_t kind)
{
	switch (kind) {
	case CDHS_VOID: return &ffi_type_void;
	case CDHS_U8:   return &ffi_type_uint8;
	case CDHS_U16:  return &ffi_type_uint16;
	case CDHS_U32:  return &ffi_type_uint32;
	case CDHS_U64:  return &ffi_type_uint64;
	case CDHS_I8:   return &ffi_type_sint8;
	case CDHS_I16:  return &ffi_type_sint16;
	case CDHS_I32:  return &ffi_type_sint32;
	case CDHS_I64:  return &ffi_type_sint64;
	case CDHS_F64:  return &ffi_type_double;
	case CDHS_POINTER: return &ffi_type_pointer;
	default:        return NULL;
	}
}

static uint64_t bits_of(uint32_t kind, const void *value)
{
	uint64_t bits = 0;

	switch (kind) {
	case CDHS_U8:  return *(const uint8_t *)value;
	case CDHS_U16: return *(const uint16_t *)value;
	case CDHS_U32: return *(const uint32_t *)value;
	case CDHS_I8:  return (uint64_t)(int64_t)*(const int8_t *)value;
	case CDHS_I16: return (uint64_t)(int64_t)*(const int16_t *)value;
	case CDHS_I32: return (uint64_t)(int64_t)*(const int32_t *)value;
	case CDHS_POINTER: return (uint64_t)(uintptr_t)*(void *const *)value;
	default:       memcpy(&bits, value, sizeof(bits)); return bits; /* u64, i64, f64 */
	}
}

/* libffi widens integer results narrower than a register to ffi_arg. */
static void store_result(uint32_t kind, void *ret, uint64_t bits)
{
	switch (kind) {
	case CDHS_VOID: break;
	case CDHS_F64:  memcpy(ret, &bits, sizeof(double)); break;
	case CDHS_I8:   *(ffi_sarg *)ret = (int8_t)bits; break;
	case CDHS_I16:  *(ffi_sarg *)ret = (int16_t)bits; break;
	case CDHS_I32:  *(ffi_sarg *)ret = (int32_t)bits; break;
	case CDHS_U8:   *(ffi_arg *)ret = (uint8_t)bits; break;
	case CDHS_U16:  *(ffi_arg *)ret = (uint16_t)bits; break;
	case CDHS_U32:  *(ffi_arg *)ret = (uint32_t)bits; break;
	default:        memcpy(ret, &bits, sizeof(bits)); break;
	}
}

static void enter(ffi_cif *cif, void *ret, void **args, void *data)
{
	struct command_function *f = data;
	uint64_t arguments[DH_COMMAND_MAX_ARGS + 1];
	unsigned i;

	for (i = 1; i < cif->nargs; i++)
		arguments[i - 1] = bits_of(f->kinds[i], args[i]);
	store_result(f->result, ret, f->body(f->user, *(void **)args[0], arguments));
}

dh_command_fn cdhs_command_function(uint32_t result, const uint32_t *arguments, uint32_t count,
				    cdhs_command_body body, void *user)
{
	struct command_function *f;
	ffi_closure *closure;
	void *code = NULL;
	uint32_t i;

	if (count > DH_COMMAND_MAX_ARGS + 1 || ffi_type_of(result) == NULL || result == CDHS_POINTER)
		return NULL;
	f = calloc(1, sizeof(*f));
	if (!f)
		return NULL;
	f->result = result;
	f->body = body;
	f->user = user;
	f->types[0] = &ffi_type_pointer;
	f->kinds[0] = CDHS_POINTER;
	for (i = 0; i < count; i++) {
		f->types[i + 1] = ffi_type_of(arguments[i]);
		f->kinds[i + 1] = arguments[i];
		if (f->types[i + 1] == NULL || arguments[i] == CDHS_VOID)
			goto fail;
	}
	if (ffi_prep_cif(&f->cif, FFI_DEFAULT_ABI, count + 1, ffi_type_of(result), f->types) != FFI_OK)
		goto fail;
	closure = ffi_closure_alloc(sizeof(ffi_closure), &code);
	if (!closure)
		goto fail;
	if (ffi_prep_closure_loc(closure, &f->cif, enter, f, code) != FFI_OK) {
		ffi_closure_free(closure);
		goto fail;
	}
	return (dh_command_fn)code;
fail:
	free(f);
	return NULL;
}
