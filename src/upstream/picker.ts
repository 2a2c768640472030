/**
 * Pickers: small immutable objects with a synchronous pick(), rebuilt whenever a cluster's
 * host set or health changes (grpc-js's Picker). The implementations live in ./pickers/.
 */
export { EMPTY_PICKER, type PickContext, type Picker } from './pickers/types';
export { LeastRequestPicker, RandomPicker, RoundRobinPicker, type LeastRequestOptions } from './pickers/basic';
export { MaglevPicker, RingHashPicker, normalizeHostWeights, normalizeLocalityWeights, type NormalizedHostWeight } from './pickers/hash-ring';
export { ClusterPicker, LocalityPicker, effectiveLocalityWeight, type ClusterLbSettings } from './pickers/cluster-picker';
export { computePriorityLoad, choosePriority, type LevelCounts, type PriorityLoad } from './pickers/priority-load';
