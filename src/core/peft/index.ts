export { parseAdapterConfig, matchPattern, isTargeted, moduleScaling, LoraConfigSchema, PeftError, type LoraConfig, type PeftErrorCode } from './config.ts';
export { importLora, foldLoraDense, subtractBaseDelta, type LoraModule, type LoraImport, type Factors } from './lora.ts';
