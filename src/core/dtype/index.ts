export {
  f32Bits,
  f32BitsToF16Bits,
  f16BitsToF32Bits,
  f32ToF16Bits,
  f16BitsToF32,
  f16ToF32Array,
  f32ToF16Array,
} from './float16.ts';
export {
  f32BitsToBf16Bits,
  bf16BitsToF32Bits,
  f32ToBf16Bits,
  bf16BitsToF32,
  bf16ToF32Array,
  f32ToBf16Array,
} from './bfloat16.ts';
