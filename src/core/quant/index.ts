export { quantizeF16, dequantizeF16, quantizeInt8Rows, dequantizeInt8Rows, rowsOf, QuantError, type Int8Rows } from './quant.ts';
