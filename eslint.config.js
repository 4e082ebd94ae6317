// Lint: typescript-eslint's recommended rules over everything the project type-checks. Formatting
// is Prettier's job (.prettierrc.json); unused locals and parameters are tsc's (tsconfig.json).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';

export default tseslint.config(
  { ignores: ['node_modules/**', 'dist/**', 'coverage/**', '.partner-gateway/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node } },
    rules: {
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_' },
      ],
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      'no-console': 'off',
      // Control characters are matched on purpose: inputs containing them are refused.
      'no-control-regex': 'off',
    },
  },
);
