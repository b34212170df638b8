"""Code shared by every nser component: the mel front end, class labels, errors, the CLI."""
