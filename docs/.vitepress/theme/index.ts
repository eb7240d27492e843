import DefaultTheme from 'vitepress/theme';
import type { Theme } from 'vitepress';
import EncoderDemo from './EncoderDemo.vue';

export default {
  extends: DefaultTheme,
  enhanceApp({ app }) {
    app.component('EncoderDemo', EncoderDemo);
  },
} satisfies Theme;
