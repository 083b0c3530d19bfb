CTFd.plugin.run((_CTFd) => {
  const script = document.createElement("script");
  script.src = "/plugins/ctfdeck/assets/catalog.js";
  script.onload = () => ctfdeckFillCatalog(_CTFd);
  document.body.appendChild(script);
});
