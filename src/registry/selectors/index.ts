export { SelectorError } from './errors.js';
export { labelValueErrors, qualifiedNameErrors } from './label-syntax.js';
export {
  formatLabelSelector,
  labelSelectorFromObject,
  matchesLabels,
  parseLabelSelector,
  type LabelOperator,
  type LabelRequirement,
  type LabelSelector,
  type MetaLabelSelector,
} from './label-selector.js';
export {
  matchesFields,
  parseFieldSelector,
  selectedName,
  selectedNamespace,
  type FieldRequirement,
  type FieldSelector,
} from './field-selector.js';
