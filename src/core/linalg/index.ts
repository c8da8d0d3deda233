export { symmetricEigen, type SymmetricEigen } from './eigen.ts';
export {
  truncatedSvd,
  truncatedSvdAsync,
  singularValues,
  energyCurve,
  chooseSvdMethod,
  multiplyFactors,
  factorError,
  factorError2,
  eckartYoungError,
  frobenius2,
  type LowRankFactors,
  type SvdOptions,
  type MatrixProducts,
  type SvdProduct,
  type Matrix64,
} from './svd.ts';
export { allocateRanksByBudget, rankForEnergy, fixedRank, factorBytes, type RankCandidate, type BudgetOptions, type RankAllocation } from './rank.ts';
