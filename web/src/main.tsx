import { render } from 'preact';
import { App } from './App';
import { installLinkInterception } from './router';
import './styles.css';

installLinkInterception();
render(<App />, document.getElementById('app')!);
