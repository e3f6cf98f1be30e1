window.noopLoaded = true;
