/* Calling a plugin command by its declared signature, through libffi. */
#include "CDrvHost.h"

#include <ffi.h>
#include <string.h>

static ffi_type *ffi_type_for(uint32_t t)
{
	switch (t) {
	case CDH_FFI_VOID: return &ffi_type_void;
	case CDH_FFI_U8:   return &ffi_type_uint8;
	case CDH_FFI_U16:  return &ffi_type_uint16;
	case CDH_FFI_U32:  return &ffi_type_uint32;
	case CDH_FFI_U64:  return &ffi_type_uint64;
	case CDH_FFI_I8:   return &ffi_type_sint8;
	case CDH_FFI_I16:  return &ffi_type_sint16;
	case CDH_FFI_I32:  return &ffi_type_sint32;
	case CDH_FFI_I64:  return &ffi_type_sint64;
	case CDH_FFI_F64:  return &ffi_type_double;
	case CDH_FFI_POINTER: return &ffi_type_pointer;
	default:           return NULL;
	}
}

/* Each argument's storage must have the argument's own size. */
union cdh_ffi_value {
	uint8_t u8; uint16_t u16; uint32_t u32; uint64_t u64;
	int8_t i8; int16_t i16; int32_t i32; int64_t i64; double f64;
	void *pointer;
};

static void store(union cdh_ffi_value *v, uint32_t t, uint64_t bits)
{
	switch (t) {
	case CDH_FFI_U8:  v->u8 = (uint8_t)bits; break;
	case CDH_FFI_U16: v->u16 = (uint16_t)bits; break;
	case CDH_FFI_U32: v->u32 = (uint32_t)bits; break;
	case CDH_FFI_I8:  v->i8 = (int8_t)bits; break;
	case CDH_FFI_I16: v->i16 = (int16_t)bits; break;
	case CDH_FFI_I32: v->i32 = (int32_t)bits; break;
	case CDH_FFI_F64: memcpy(&v->f64, &bits, sizeof(bits)); break;
	case CDH_FFI_POINTER: v->pointer = (void *)(uintptr_t)bits; break;
	default:          v->u64 = bits; break;
	}
}

static uint64_t load(uint32_t t, const ffi_arg *r, const double *d)
{
	uint64_t bits = 0;

	switch (t) {
	case CDH_FFI_VOID: return 0;
	case CDH_FFI_F64:  memcpy(&bits, d, sizeof(bits)); return bits;
	/* libffi widens small integer returns to ffi_arg. */
	case CDH_FFI_U8:   return (uint8_t)*r;
	case CDH_FFI_U16:  return (uint16_t)*r;
	case CDH_FFI_U32:  return (uint32_t)*r;
	case CDH_FFI_I8:   return (uint64_t)(int64_t)(int8_t)*r;
	case CDH_FFI_I16:  return (uint64_t)(int64_t)(int16_t)*r;
	case CDH_FFI_I32:  return (uint64_t)(int64_t)(int32_t)*r;
	default:           return (uint64_t)*r;
	}
}

int cdh_call_command(dh_command_fn fn, void *context, uint32_t ret_type,
		     const uint32_t *arg_types, const uint64_t *args, uint32_t nargs,
		     uint64_t *result)
{
	ffi_type *types[CDH_COMMAND_MAX_C_ARGS];
	void *values[CDH_COMMAND_MAX_C_ARGS];
	union cdh_ffi_value storage[CDH_COMMAND_MAX_C_ARGS - 1];
	ffi_type *rtype = ffi_type_for(ret_type);
	union { ffi_arg integer; double f64; } ret;
	ffi_cif cif;
	uint32_t i;

	if (nargs > CDH_COMMAND_MAX_C_ARGS - 1 || rtype == NULL || ret_type == CDH_FFI_POINTER)
		return -1;
	types[0] = &ffi_type_pointer;
	values[0] = &context;
	for (i = 0; i < nargs; i++) {
		types[i + 1] = ffi_type_for(arg_types[i]);
		if (types[i + 1] == NULL || arg_types[i] == CDH_FFI_VOID)
			return -1;
		store(&storage[i], arg_types[i], args[i]);
		values[i + 1] = &storage[i];
	}
	if (ffi_prep_cif(&cif, FFI_DEFAULT_ABI, nargs + 1, rtype, types) != FFI_OK)
		return -1;
	memset(&ret, 0, sizeof(ret));
	ffi_call(&cif, fn, &ret, values);
	*result = load(ret_type, &ret.integer, &ret.f64);
	return 0;
}
